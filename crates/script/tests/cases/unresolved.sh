#!/bin/sh
chmod u+s "$1"
chmod u+s $(find /usr/lib/pkg -name helper)
chmod u+s /usr/lib/*/pkg/helper
chmod u+s relative/path
chmod u+s "$UNKNOWN/bin/x"
chmod u+s ~/bin/x
chmod u+s /usr/lib/../../etc/x
setcap cap_net_raw+ep `which ping`
chown root "$@"
REL=sub/tool
chmod u+s "$REL"
