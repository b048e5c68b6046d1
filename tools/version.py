#!/usr/bin/env python3
"""Print the API version MAJOR.MINOR.PATCH read from include/fwinfer.h."""
import os
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))
text = open(os.path.join(here, '..', 'include', 'fwinfer.h'), encoding='utf-8').read()
parts = []
for name in ('MAJOR', 'MINOR', 'PATCH'):
    m = re.search(r'^#define FW_VERSION_%s (\d+)$' % name, text, re.M)
    if not m:
        sys.exit('FW_VERSION_%s not found in include/fwinfer.h' % name)
    parts.append(m.group(1))
print('.'.join(parts))
