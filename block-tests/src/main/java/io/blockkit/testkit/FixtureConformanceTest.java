package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The read suite over a known image ({@link ImageFixture}): every test a read-only driver can
 * pass, and the way to test reads of images another tool made. The driver test says what the
 * image is ({@link #fixture()}) and where the driver reads it ({@link #place}); the kit opens it
 * through the registry, naming the driver, and checks random reads against the expected bytes,
 * reads at and past the end, block status against the content and the expected map, that a
 * read-write open follows the declared features (refused for a read-only driver), that a
 * read-only open refuses writes, {@code
 * info()}, concurrent readers, probing and close.
 *
 * <p>Protocols extend this class directly and serve the fixture's bytes themselves in {@link
 * #place} (an HTTP server, an S3 bucket, or, for the README's {@code pattern} driver, nothing at
 * all). Formats extend {@link FormatFixtureConformanceTest}, which places the files on the memory
 * and file protocols.
 */
public abstract class FixtureConformanceTest extends KitSupport {
  private ImageFixture fixture;
  private String location;
  private BlockRegistry registry;

  // ---------------------------------------------------------------- hooks

  /** The driver under test. */
  protected abstract BlockDriver driver();

  /**
   * The known image.
   *
   * @throws IOException when the fixture cannot be read
   */
  protected abstract ImageFixture fixture() throws IOException;

  /**
   * Puts the fixture's files where the driver reads them and returns the image's filename for
   * the registry ({@code memory:dir/disk.img}, a path, {@code http://...}). Resources it starts
   * can be stopped with {@link #closeAfterTest}.
   *
   * @throws IOException when the image cannot be written
   */
  protected abstract String place(ImageFixture fixture) throws IOException;

  /**
   * The registry the image is opened with: by default {@link #registryWith}.
   *
   * @throws IOException when the registry cannot load
   */
  protected BlockRegistry registry() throws IOException {
    return registryWith(driver());
  }

  /** The format's cluster size, or any block size reads should start, end and cross at. */
  protected int naturalBlockSize() {
    return 4096;
  }

  @BeforeEach
  final void placeFixture() throws IOException {
    registry = registry();
    fixture = fixture();
    location = place(fixture);
  }

  // ---------------------------------------------------------------- helpers

  /** The placed fixture, opened through the registry with the driver named. */
  private BlockDevice open(boolean readOnly) throws IOException {
    return closeAfterTest(registry.open(Map.of("driver", driver().name(), "filename", location),
        OpenParams.defaults().withReadOnly(readOnly).withWarnings(w -> { })));
  }

  private void assertRandomReads(BlockDevice d, Random r, int count) throws IOException {
    byte[] content = fixture.content();
    for (int i = 0; i < count; i++) {
      int[] range = randomRange(r, content.length, naturalBlockSize());
      ByteBuffer buf = r.nextBoolean() ? ByteBuffer.allocate(range[1])
          : ByteBuffer.allocateDirect(range[1]);
      d.read(range[0], buf);
      assertFalse(buf.hasRemaining(), "read left bytes unfilled");
      byte[] got = new byte[range[1]];
      buf.flip().get(got);
      assertSameBytes(content, range[0], got, range[0], range[1], "read of " + range[1]
          + " bytes at " + range[0]);
    }
  }

  // ---------------------------------------------------------------- tests

  @Test
  public void readsMatchTheExpectedBytes() throws IOException {
    BlockDevice d = open(true);
    assertImageEquals(fixture.content(), d, "the whole image");
    assumeTrue(fixture.size() > 0, "an empty image has nothing more to read");
    assertRandomReads(d, random(), 400);
    int size = fixture.size();
    assertSameBytes(fixture.content(), size - 1, readAll(d, size - 1, 1), size - 1, 1,
        "the last byte");
    d.read(size, ByteBuffer.allocate(0));
  }

  @Test
  public void readsPastTheEndAreRefused() throws IOException {
    BlockDevice d = open(true);
    RangeTests.assertReadsPastTheEndRefused(d);
    assertImageEquals(fixture.content(), d, "after refused reads");
  }

  @Test
  public void blockStatusAgreesWithTheContentAndTheMap() throws IOException {
    BlockDevice d = open(true);
    for (Extent e : assertExtentsTileAndAgree(d, "the fixture")) {
      for (ImageFixture.Run r : fixture.map()) {
        if (r.end() <= e.offset() || r.offset() >= e.end()) {
          continue;
        }
        boolean ok = switch (r.kind()) {
          case DATA -> e.data();
          case ZERO -> e.zero() && !e.data() && e.allocated();
          case UNALLOCATED -> !e.allocated() && !e.data();
        };
        if (!ok) {
          fail("extent " + e.offset() + "+" + e.length() + " (data " + e.data() + ", zero "
              + e.zero() + ", allocated " + e.allocated() + ") overlaps the fixture's "
              + r.kind() + " run " + r.offset() + "+" + r.length() + seedNote());
        }
      }
    }
    assertShortQueriesObeyTheContract(d);
  }

  /**
   * A driver without {@link DriverFeature#WRITE} is refused a read-write open (the registry
   * checks before it is asked); one that declares it opens the image writable.
   *
   * @throws IOException when the driver under test fails
   */
  @Test
  public void readWriteOpenFollowsTheDeclaredFeatures() throws IOException {
    if (!driver().features().contains(DriverFeature.WRITE)) {
      UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
          () -> open(false));
      assertTrue(e.getMessage().contains(driver().name()), e.getMessage());
      return;
    }
    BlockDevice d = open(false);
    assertFalse(d.isReadOnly(), "driver '" + driver().name() + "' declares WRITE, but a "
        + "read-write open gave a read-only device");
    assertTrue(d.capabilities().contains(Capability.WRITE), "driver '" + driver().name()
        + "' declares WRITE, but a read-write open gave a device without Capability.WRITE");
  }

  @Test
  public void readOnlyOpenRefusesWrites() throws IOException {
    BlockDevice d = open(true);
    assertTrue(d.isReadOnly(), "a read-only open is not read-only");
    assertFalse(d.capabilities().contains(Capability.WRITE), "a read-only device claims WRITE");
    ReadWriteTests.assertWritesRefused(d);
    assertImageEquals(fixture.content(), d, "after refused writes");
  }

  @Test
  public void infoDescribesTheImage() throws IOException {
    BlockDevice d = open(true);
    ImageInfo info = d.info();
    assertEquals(fixture.size(), d.size(), "size()");
    assertEquals(fixture.size(), info.virtualSize(), "info().virtualSize()");
    assertEquals(driver().name(), info.format(), "info().format()");
    assertEquals(d.location(), info.filename(), "info().filename()");
    BackingLink link = info.backing();
    if (fixture.backingFilename() == null) {
      assertNull(link, "info() names a backing the image does not store");
      return;
    }
    assertNotNull(link, "info() names no backing");
    assertEquals(fixture.backingFilename(), link.filename(), "the backing name as stored");
    assertEquals(fixture.backingFormat(), link.format(), "the backing format as stored");
    assertTrue(d.backing().isPresent(), "the backing was not opened");
  }

  @Test
  public void concurrentReadersSeeTheExpectedBytes() throws Exception {
    assumeTrue(fixture.size() > 0, "an empty image has nothing to read");
    BlockDevice d = open(true);
    List<Callable<Void>> readers = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      long seed = random().nextLong();
      readers.add(() -> {
        assertRandomReads(d, new Random(seed), 200);
        return null;
      });
    }
    ConcurrencyTests.runAll(readers);
  }

  @Test
  public void probingFindsThisDriver() throws IOException {
    assumeTrue(driver().kind() == DriverKind.FORMAT, "a " + driver().kind()
        + " driver is named, not probed");
    BlockDevice d = closeAfterTest(registry.open(location,
        OpenParams.readOnlyDefaults().withWarnings(w -> { })));
    assertEquals(driver().name(), d.driver().name(), "the format probing chose");
  }

  @Test
  public void closeIsIdempotentAndUseAfterCloseFailsCleanly() throws IOException {
    assertCloseIsFinal(open(true));
  }
}
