#!/bin/sh
setcap 'cap_net_raw+ep' '/usr/bin/single quoted'
setcap "cap_net_raw+ep" "/usr/bin/double"
setcap cap_net_raw+ep /usr/bin/with\ space
setcap \
    cap_net_raw+ep \
    /usr/bin/continued
chmod u+s /usr/bin/a"b"'c'
chmod "u+s" "/usr/bin/\$dollar"
X=/usr/bin/x; chmod u+s "$X"; chown root "$X"
