#!/bin/sh
# Makes the Java runtime of the -Pruntime archive, from the JDK running Maven: the modules the
# shaded jar uses (found by jdeps, so a new driver's needs are found too) plus what jdeps cannot
# see: jdk.crypto.ec, the elliptic-curve provider TLS negotiates with (https://, nbds://), and
# jdk.charsets, for file names in locales whose charset java.base lacks.
# Arguments: JAVA_HOME of that JDK, the shaded jar, the output folder (replaced).
set -eu
jdk=$1
jar=$2
out=$3
modules=$("$jdk/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 17 "$jar")
modules=$modules,jdk.crypto.ec,jdk.charsets
rm -rf "$out"
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
  --compress=2 --generate-cds-archive --output "$out"
echo "Java runtime in $out: $modules"
