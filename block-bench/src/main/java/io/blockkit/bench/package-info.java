/**
 * JMH benchmarks of the in-process paths. Not part of {@code mvn verify}; build and run with
 * {@code mvn -B -Pbench -DskipTests package -pl block-bench -am && java -jar
 * block-bench/target/benchmarks.jar}. The command-level comparison with qemu-img is
 * {@code scripts/bench-vs-qemu.py}; results are in docs/PERFORMANCE.md.
 */
package io.blockkit.bench;
