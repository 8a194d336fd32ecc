#!/bin/sh
main() {
    chmod u+s "$2/bin/x"
    chmod u+s "$1"
}
main "$@"
second() {
    chmod 4755 "$2"
}
second "$UNKNOWN" /usr/bin/quoted-first
second $UNSPLIT /usr/bin/unquoted-first
