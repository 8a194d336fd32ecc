#!/bin/sh
set -e
if [ "$1" = configure ]; then
    setcap cap_net_raw+ep /usr/bin/ping
# the fi is missing
chmod u+s /usr/bin/after
