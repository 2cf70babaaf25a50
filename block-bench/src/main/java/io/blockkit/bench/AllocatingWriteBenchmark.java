package io.blockkit.bench;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * 4 KiB sequential writes into a fresh dynamic image (qemu-img bench -w's shape): every 256th
 * write allocates a 1 MiB VDI block, so this measures allocation and metadata batching.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AllocatingWriteBenchmark {
  private static final long SIZE = 64L << 30;

  @Param({"raw", "vdi"})
  public String format;

  @Param({"4096"})
  public int requestSize;

  private Path dir;
  private BlockDevice dev;
  private ByteBuffer buf;
  private long next;
  private int generation;

  @Setup(Level.Iteration)
  public void setUp() throws IOException {
    BlockRegistry reg = BenchImages.registry();
    dir = BenchImages.scratchDir();
    Path img = dir.resolve("w" + (generation++) + "." + format);
    reg.create(img.toString(), format, Map.of("size", Long.toString(SIZE)));
    dev = reg.open(img.toString(), OpenParams.defaults().withFormat(format));
    buf = ByteBuffer.allocateDirect(requestSize);
    for (int i = 0; i < requestSize; i++) {
      buf.put(i, (byte) (i * 31 + 7));
    }
    next = 0;
  }

  @TearDown(Level.Iteration)
  public void tearDown() throws IOException {
    dev.close();
    BenchImages.deleteTree(dir);
  }

  @Benchmark
  public long sequentialWrite() throws IOException {
    buf.clear();
    dev.write(next, buf);
    next += requestSize;
    return next;
  }
}
