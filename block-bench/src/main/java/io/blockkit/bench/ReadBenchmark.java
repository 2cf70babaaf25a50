package io.blockkit.bench;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
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
 * Reads from a fully allocated image, vdi against raw on the same storage: the ratio is the
 * format's overhead over the hardware path.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ReadBenchmark {
  private static final long SIZE = 256L * BenchImages.MIB;

  @Param({"raw", "vdi"})
  public String format;

  @Param({"4096", "1048576"})
  public int requestSize;

  private Path dir;
  private BlockDevice dev;
  private long nextSequential;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    BlockRegistry reg = BenchImages.registry();
    dir = BenchImages.scratchDir();
    Path img = dir.resolve("img." + format);
    BenchImages.createFilled(reg, img, format, SIZE);
    dev = reg.open(img.toString(), OpenParams.readOnlyDefaults().withFormat(format));
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    dev.close();
    BenchImages.deleteTree(dir);
  }

  /** Per-thread buffer so the benchmark can run with several threads (-t N). */
  @State(Scope.Thread)
  public static class Buffer {
    ByteBuffer buf;

    @Setup
    public void setUp(ReadBenchmark b) {
      buf = ByteBuffer.allocateDirect(b.requestSize);
    }
  }

  @Benchmark
  public int randomRead(Buffer b) throws IOException {
    long slots = SIZE / requestSize;
    long off = ThreadLocalRandom.current().nextLong(slots) * requestSize;
    b.buf.clear();
    dev.read(off, b.buf);
    return b.buf.get(0);
  }

  @Benchmark
  public int sequentialRead(Buffer b) throws IOException {
    long off = nextSequential;
    nextSequential = off + requestSize >= SIZE ? 0 : off + requestSize;
    b.buf.clear();
    dev.read(off, b.buf);
    return b.buf.get(0);
  }
}
