#!/bin/sh
sh -c "chmod u+s /usr/bin/a"
bash -e -c 'for f in /usr/bin/b /usr/bin/c; do setcap cap_net_raw+ep $f; done'
eval "chown root:adm /var/log/d"
find /usr/lib/pkg -name helper -exec chmod 4755 {} \;
find /var/lib/pkg -type d -execdir chgrp adm '{}' +
find /var/log/pkg | xargs chown root:adm
find /var/log/pkg | xargs -I{} chmod 0640 {}
sh -c "$CMD"
sh -c "$CMD chmod u+s /x"
sh -c 'echo "chmod u+s /usr/bin/not-a-command"'
eval chmod u+s $X
eval dpkg-statoverride --list $pat
