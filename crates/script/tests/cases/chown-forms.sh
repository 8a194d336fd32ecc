#!/bin/sh
chown root /usr/bin/a
chown root:adm /var/log/b
chown root.adm /var/log/c
chown :adm /var/log/d
chown -R daemon:daemon /var/lib/e
chgrp shadow /usr/bin/f
chgrp -R adm /var/log/g
chown root: /usr/bin/h
/bin/chown --recursive root:root /srv/i /srv/j
chown -R -- root:adm /var/log/k
chgrp -- adm /var/log/l
