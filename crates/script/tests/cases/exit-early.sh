#!/bin/sh
set -e
chmod u+s /usr/bin/before
( exit 0 )
X=$(exit 1)
chmod u+s /usr/bin/after-subshell
check() {
    [ -x "$1" ] || return 0
    chmod u+s "$1"
}
check /usr/bin/checked
chmod u+s /usr/bin/after-function
if [ "$1" != configure ]; then
    exit 0
fi
chmod u+s /usr/bin/after-exit
