package io.blockkit.testkit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.registry.BlockRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Nested;

/**
 * The device contract every block driver's test extends (Lucene's {@code Base*TestCase} pattern):
 * a driver test implements {@link #driver()} and {@link #create(long)}, overrides the hooks that
 * apply to it, and inherits every group of tests below. Tests of features a device does not claim
 * in {@link BlockDevice#capabilities()} are skipped with a JUnit assumption that says why.
 *
 * <p>Format drivers extend {@link FormatConformanceTest} instead, which runs this suite over the
 * memory and file protocols through the registry; read-only drivers prove their reads with
 * {@link FixtureConformanceTest}.
 *
 * <p>A minimal subclass:
 *
 * <pre>{@code
 * class MemoryProtocolConformanceTest extends BlockDriverConformanceTest {
 *   protected BlockDriver driver() { return new MemoryDriver(); }
 *   protected BlockDevice create(long size) throws IOException {
 *     String name = newName();
 *     driver().create(new CreateRequest(name, null, Options.parse("size=" + size, driver().createOptions())));
 *     return driver().open(OpenRequest.of(name, null, false));
 *   }
 * }
 * }</pre>
 */
public abstract class BlockDriverConformanceTest extends KitSupport {
  /** The image size most tests use: 4 MiB. */
  public static final long DEFAULT_SIZE = 4L << 20;
  /** The sizes {@code sizesAreHonoured} creates by default. */
  static final long[] DEFAULT_SIZES = {0, 512, 65536 + 512, 3L << 20};

  // ---------------------------------------------------------------- hooks

  /** The driver under test. */
  protected abstract BlockDriver driver();

  /**
   * A fresh, writable, open image of at least {@code size} bytes (the device's {@code size()}
   * tells the actual). Its bytes need not be zero unless {@link #freshImagesReadZero()} says so.
   * The kit closes it after the test.
   *
   * @throws IOException when the image cannot be made (fails the test)
   */
  protected abstract BlockDevice create(long size) throws IOException;

  /**
   * Opens again the image behind {@code closed} (already closed). The default skips the tests
   * that need it.
   *
   * @throws IOException when the image cannot be opened again (fails the test)
   */
  protected BlockDevice reopen(BlockDevice closed, boolean readOnly) throws IOException {
    assumeTrue(false, "reopen() not implemented by " + getClass().getSimpleName());
    return null;
  }

  /** The capabilities a fresh writable image must report exactly, or empty to not check. */
  protected Optional<Set<Capability>> expectedCapabilities() {
    return Optional.empty();
  }

  /**
   * True when the driver recognises its images by magic bytes and must score them {@link
   * BlockDriver#PROBE_EXACT}: by default FORMAT drivers that score foreign images 0.
   */
  protected boolean claimsByMagic() {
    return driver().kind() == DriverKind.FORMAT && foreignProbeScore() == 0;
  }

  /**
   * The probe input of an image this driver made. By default, for {@link #claimsByMagic()}
   * drivers, the head and tail of the child of a fresh {@link #create(long)} image.
   *
   * @throws IOException when the image cannot be made or read
   */
  protected Optional<ProbeInput> ownImageProbe() throws IOException {
    if (!claimsByMagic()) {
      return Optional.empty();
    }
    try (BlockDevice d = create(defaultSize())) {
      d.flush();
      Optional<BlockDevice> child = d.child();
      if (child.isEmpty()) {
        return Optional.empty();
      }
      return Optional.of(BlockRegistry.probeInput(child.get(), "own-image"));
    }
  }

  /**
   * Probe inputs of images of other formats, which this driver must not claim. By default, a
   * 1 MiB image of every other FORMAT driver on the class path that can create one on the {@code
   * memory} protocol (none when that protocol is not on the class path).
   *
   * @throws IOException when an image cannot be made or read
   */
  protected List<ProbeInput> foreignImageProbes() throws IOException {
    BlockRegistry registry = BlockRegistry.load(getClass().getClassLoader());
    Optional<BlockDriver> memory = registry.find("memory");
    if (memory.isEmpty()) {
      return List.of();
    }
    List<ProbeInput> out = new ArrayList<>();
    for (BlockDriver other : registry.drivers()) {
      if (other.kind() != DriverKind.FORMAT || other.name().equals(driver().name())
          || other.name().equals(BlockRegistry.RAW)) {
        continue;
      }
      String name = newName() + "-" + other.name();
      try {
        registry.create("memory:" + name, other.name(), Map.of("size", "1M"));
      } catch (IOException | RuntimeException e) {
        continue; // a format that cannot create such an image simply contributes none
      }
      try (BlockDevice image = memory.get().open(OpenRequest.of(name, null, true))) {
        out.add(BlockRegistry.probeInput(image, other.name() + "-image"));
      } finally {
        memory.get().delete(name);
      }
    }
    return out;
  }

  /** The score this driver gives images that are not its own: 0, or 1 for raw. */
  protected int foreignProbeScore() {
    return 0;
  }

  /** The image size most tests use. */
  protected long defaultSize() {
    return DEFAULT_SIZE;
  }

  /** Sizes {@code sizesAreHonoured} creates. */
  protected long[] sizesToTest() {
    return DEFAULT_SIZES.clone();
  }

  /**
   * The driver's natural block (cluster) size, its unit of allocation: boundary tests straddle
   * its multiples.
   */
  protected int naturalBlockSize() {
    return 4096;
  }

  /** True when a freshly created image reads as zeros everywhere. */
  protected boolean freshImagesReadZero() {
    return true;
  }

  /**
   * True when shrinking refuses to cut off data (VDI: only a part holding no data may go) and
   * sizes change in whole 512-byte sectors; false (the default) when a shrink drops whatever lies
   * past the new end, as a file's truncation does.
   */
  protected boolean shrinkKeepsData() {
    return false;
  }

  // ---------------------------------------------------------------- the groups

  /** Capabilities, sizes, zero-length requests, close, flush and check of fresh images. */
  @Nested
  class Basics extends BasicTests {
    Basics() {
      super(BlockDriverConformanceTest.this);
    }
  }

  /** Random and boundary round trips, reopening, read-only opens. */
  @Nested
  class ReadsAndWrites extends ReadWriteTests {
    ReadsAndWrites() {
      super(BlockDriverConformanceTest.this);
    }
  }

  /** Requests past the end, growth and truncation. */
  @Nested
  class Ranges extends RangeTests {
    Ranges() {
      super(BlockDriverConformanceTest.this);
    }
  }

  /** writeZeroes, discard and block status against the content. */
  @Nested
  class ZeroesAndStatus extends ZeroAndStatusTests {
    ZeroesAndStatus() {
      super(BlockDriverConformanceTest.this);
    }
  }

  /** The driver claims its own images and no other bytes. */
  @Nested
  class Probing extends ProbeTests {
    Probing() {
      super(BlockDriverConformanceTest.this);
    }
  }

  /** Disjoint and overlapping writers from several threads. */
  @Nested
  class Concurrency extends ConcurrencyTests {
    Concurrency() {
      super(BlockDriverConformanceTest.this);
    }
  }
}
