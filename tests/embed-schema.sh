#!/bin/sh
# Turns schema/NNN_name.sql files into build/schema.c: an array of
# migrations (version, name, SQL text) that vantaged applies in order.
set -e
echo '/* generated from schema/NNN_name.sql by tests/embed-schema.sh; do not edit */'
echo '#include "vantaged.h"'
echo 'const struct schema_migration schema_migrations[] = {'
n=0
for f in "$@"; do
	base=$(basename "$f" .sql)
	ver=$(echo "$base" | sed 's/_.*//' | sed 's/^0*//')
	printf '\t{ %s, "%s",\n' "$ver" "$base"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t    "/' -e 's/$/\\n"/' "$f"
	printf '\t},\n'
	n=$((n + 1))
done
echo '	{ 0, NULL, NULL }'
echo '};'
echo "const int schema_n_migrations = $n;"
