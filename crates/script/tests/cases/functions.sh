#!/bin/sh
set -e
grant() {
    setcap "$2" "$1"
}
fix_perms() {
    chown "$2" "$1"
    chmod "$3" "$1"
}
all_suid() {
    chmod u+s "$@"
}
function never_called {
    chmod 4755 "$1"
}
recurse() {
    chmod u+s /usr/bin/recursive
    recurse
}
grant /usr/bin/ping cap_net_raw+ep
grant /usr/bin/mtr-packet cap_net_raw+ep
fix_perms /var/log/pkg root:adm 2750
all_suid /usr/bin/a /usr/bin/b
if [ "$1" = configure ]; then
    grant /usr/bin/fping cap_net_raw+ep
fi
recurse
outer() {
    grant "$1/bin/tool" cap_net_admin+ep
}
outer /usr/lib/pkg
