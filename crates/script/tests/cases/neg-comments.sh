#!/bin/sh
# setcap cap_net_raw+ep /usr/bin/ping
    # chmod u+s /usr/bin/ping
true # chmod 4755 /usr/bin/x
