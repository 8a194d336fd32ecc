#!/bin/sh
set -e
P=/usr/bin/ping
setcap cap_net_raw+ep $P
setcap cap_net_raw+ep "${P}"
PROGRAM=$(dpkg-divert --truename /usr/bin/arping)
chmod u+s "$PROGRAM"
OLD=`dpkg-divert --truename /usr/bin/old`
chmod u-s $OLD
DIR=/usr/lib/pkg
chmod 4755 "$DIR/helper" $DIR/other "${DIR}"/third
chmod 4755 "$DPKG_ROOT/usr/bin/rooted"
if [ -x /usr/bin/foo ]; then
    SAME=/usr/bin/foo
else
    SAME=/usr/bin/foo
fi
chmod u+s "$SAME"
if [ -x /usr/bin/foo ]; then
    DIFF=/usr/bin/foo
else
    DIFF=/usr/bin/bar
fi
chmod u+s "$DIFF"
chmod u+s "$NEVER_ASSIGNED"
CAPS=cap_net_raw+ep
setcap "$CAPS" /usr/bin/capped
LIST="/usr/bin/x /usr/bin/y"
chmod u+s $LIST
P=/usr/bin/reassigned
chmod u+s $P
BASE=${MISSING:-/usr/lib/fallback}
chmod u+s $BASE/bin
# sourcing a file or eval may assign anything
MODE2=0755
. /etc/default/pkg
chmod $MODE2 /usr/bin/sourced
MODE3=0755
eval "$SOMETHING"
chmod $MODE3 /usr/bin/evaled
set -- /usr/bin/positional
chmod u+s "$1"
