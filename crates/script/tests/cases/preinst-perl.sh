#!/usr/bin/perl -w
use strict;
system("chmod 4755 /usr/bin/x");
