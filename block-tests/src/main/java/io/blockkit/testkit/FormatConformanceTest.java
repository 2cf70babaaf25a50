package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.DriverFeature;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The conformance suite of a format driver that creates images: the test says how to create an
 * image ({@link #createOptions}, which is also how it names a variant such as a block size) and
 * the kit builds the rest through the real registry. It runs
 *
 * <ul>
 *   <li>{@link BlockDriverConformanceTest}'s device contract over the {@code memory} protocol
 *       ({@code OnMemory}) and over host files ({@code OnFiles}), reopening through the registry;
 *   <li>{@link ChainConformanceTest} on memory and on files ({@code ChainsOnMemory}, {@code
 *       ChainsOnFiles}) when the driver declares {@link DriverFeature#BACKING}, skipped with that
 *       reason otherwise;
 *   <li>the registry's view of the format (below): probing picks it, a read-only open writes
 *       nothing, the device's capabilities agree with the driver's declared features.
 * </ul>
 *
 * <p>A format joins the chain suite by declaring {@link DriverFeature#BACKING}: nothing else
 * changes unless its create options for an overlay differ from qemu-img's {@code backing_file} and
 * {@code backing_fmt}, in which case its test overrides {@link #overlayOptions}. The file, memory
 * and raw drivers (module block-raw) must be on the test class path.
 *
 * <pre>{@code
 * class QcowConformanceTest extends FormatConformanceTest {
 *   protected BlockDriver driver() { return new QcowDriver(); }
 *   protected int naturalBlockSize() { return 64 << 10; }
 * }
 * }</pre>
 */
public abstract class FormatConformanceTest extends KitSupport {

  // ---------------------------------------------------------------- hooks

  /** The format driver under test. */
  protected abstract BlockDriver driver();

  /** Create options for an image of {@code size} bytes; default {@code size} alone. */
  protected Map<String, String> createOptions(long size) {
    return Map.of("size", Long.toString(size));
  }

  /**
   * The capabilities a fresh writable image over {@code protocol} ({@code memory} or {@code
   * file}) must report exactly, or empty to not check.
   */
  protected Optional<Set<Capability>> expectedCapabilities(String protocol) {
    return Optional.empty();
  }

  /** The score the driver gives images that are not its own: 0, or 1 for raw. */
  protected int foreignProbeScore() {
    return 0;
  }

  /** The image size most tests use. */
  protected long defaultSize() {
    return BlockDriverConformanceTest.DEFAULT_SIZE;
  }

  /** Sizes {@code sizesAreHonoured} creates. */
  protected long[] sizesToTest() {
    return BlockDriverConformanceTest.DEFAULT_SIZES.clone();
  }

  /** The format's unit of allocation: writes go on and across its multiples. */
  protected int naturalBlockSize() {
    return 4096;
  }

  /** True when a freshly created image reads as zeros everywhere. */
  protected boolean freshImagesReadZero() {
    return true;
  }

  /** Create options for an overlay; see {@link ChainConformanceTest#overlayOptions}. */
  protected Map<String, String> overlayOptions(long size, String backingName,
      String backingFormat) {
    return ChainConformanceTest.qemuOverlayOptions(size, backingName, backingFormat);
  }

  /** See {@link BlockDriverConformanceTest#shrinkKeepsData}. */
  protected boolean shrinkKeepsData() {
    return false;
  }

  /** The format of the chains' bottom images; see {@link ChainConformanceTest#baseFormat}. */
  protected String baseFormat() {
    return "raw";
  }

  /** See {@link ChainConformanceTest#recordsBackingName}. */
  protected boolean recordsBackingName() {
    return true;
  }

  /**
   * The registry images are created and opened with: by default {@link #registryWith}.
   *
   * @throws IOException when the registry cannot load
   */
  protected BlockRegistry registry() throws IOException {
    return registryWith(driver());
  }

  @BeforeEach
  final void requireCreate() {
    assumeFeature(driver(), DriverFeature.CREATE,
        "a read-only format is tested with FormatFixtureConformanceTest");
  }

  private OpenParams params(boolean readOnly) {
    return OpenParams.defaults().withFormat(driver().name()).withReadOnly(readOnly)
        .withWarnings(w -> { });
  }

  // ---------------------------------------------------------------- the suites

  /** The device contract over one protocol, images made and reopened through the registry. */
  abstract class Stacked extends BlockDriverConformanceTest {
    private BlockRegistry registry;
    private Storage storage;

    abstract Storage newStorage(BlockRegistry registry) throws IOException;

    /** This test's folder, made at first use together with the registry. */
    private Storage storage() throws IOException {
      if (storage == null) {
        registry = FormatConformanceTest.this.registry();
        storage = closeAfterTest(newStorage(registry));
      }
      return storage;
    }

    @Override
    protected String subjectName() {
      return nestedName(FormatConformanceTest.this, this);
    }

    @Override
    protected BlockDriver driver() {
      return FormatConformanceTest.this.driver();
    }

    @Override
    protected BlockDevice create(long size) throws IOException {
      String location = storage().location(newName() + "." + driver().name());
      registry.create(location, driver().name(), createOptions(size));
      return registry.open(location, params(false));
    }

    @Override
    protected BlockDevice reopen(BlockDevice closed, boolean readOnly) throws IOException {
      storage();
      return registry.open(closed.location(), params(readOnly));
    }

    @Override
    protected Optional<Set<Capability>> expectedCapabilities() {
      try {
        return FormatConformanceTest.this.expectedCapabilities(storage().protocol());
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    @Override
    protected int foreignProbeScore() {
      return FormatConformanceTest.this.foreignProbeScore();
    }

    @Override
    protected long defaultSize() {
      return FormatConformanceTest.this.defaultSize();
    }

    @Override
    protected long[] sizesToTest() {
      return FormatConformanceTest.this.sizesToTest();
    }

    @Override
    protected int naturalBlockSize() {
      return FormatConformanceTest.this.naturalBlockSize();
    }

    @Override
    protected boolean freshImagesReadZero() {
      return FormatConformanceTest.this.freshImagesReadZero();
    }

    @Override
    protected boolean shrinkKeepsData() {
      return FormatConformanceTest.this.shrinkKeepsData();
    }
  }

  /** The device contract over the memory protocol. */
  @Nested
  class OnMemory extends Stacked {
    @Override
    Storage newStorage(BlockRegistry registry) {
      return Storage.memory(registry);
    }
  }

  /** The device contract over host files. */
  @Nested
  class OnFiles extends Stacked {
    @Override
    Storage newStorage(BlockRegistry registry) throws IOException {
      return Storage.files();
    }
  }

  /** The chain suite with this test's hooks. */
  abstract class Chains extends ChainConformanceTest {
    @Override
    protected String subjectName() {
      return nestedName(FormatConformanceTest.this, this);
    }

    @Override
    protected BlockDriver driver() {
      return FormatConformanceTest.this.driver();
    }

    @Override
    protected int naturalBlockSize() {
      return FormatConformanceTest.this.naturalBlockSize();
    }

    @Override
    protected String baseFormat() {
      return FormatConformanceTest.this.baseFormat();
    }

    @Override
    protected boolean recordsBackingName() {
      return FormatConformanceTest.this.recordsBackingName();
    }

    @Override
    protected Map<String, String> overlayOptions(long size, String backingName,
        String backingFormat) {
      return FormatConformanceTest.this.overlayOptions(size, backingName, backingFormat);
    }

    @Override
    protected BlockRegistry registry() throws IOException {
      return FormatConformanceTest.this.registry();
    }
  }

  /** Backing chains on the memory protocol. */
  @Nested
  class ChainsOnMemory extends Chains {
    @Override
    protected Storage newStorage() throws IOException {
      return Storage.memory(registry());
    }
  }

  /** Backing chains in a folder of host files. */
  @Nested
  class ChainsOnFiles extends Chains {
    @Override
    protected Storage newStorage() throws IOException {
      return Storage.files();
    }
  }

  // ---------------------------------------------------------------- the format in the registry

  /** Makes an image on memory with some data written and flushed; returns its name. */
  private String imageWithData(Storage storage, BlockRegistry registry) throws IOException {
    String name = "disk." + driver().name();
    registry.create(storage.location(name), driver().name(), createOptions(defaultSize()));
    try (BlockDevice d = registry.open(storage.location(name), params(false))) {
      writeAll(d, 0, randomBytes((int) Math.min(d.size(), 3L * naturalBlockSize())));
      d.flush();
    }
    return name;
  }

  @Test
  public void probingThroughTheRegistryPicksThisFormat() throws IOException {
    assumeTrue(foreignProbeScore() == 0, "'" + driver().name()
        + "' is chosen only as the last resort, never by probing");
    BlockRegistry registry = registry();
    Storage storage = closeAfterTest(Storage.memory(registry));
    String name = imageWithData(storage, registry);
    for (boolean readOnly : new boolean[] {true, false}) {
      try (BlockDevice d = registry.open(storage.location(name),
          OpenParams.defaults().withReadOnly(readOnly).withWarnings(w -> { }))) {
        assertEquals(driver().name(), d.driver().name(), "the format probing chose");
      }
    }
  }

  @Test
  public void aReadOnlyOpenWritesNothing() throws IOException {
    BlockRegistry registry = registry();
    Storage storage = closeAfterTest(Storage.memory(registry));
    String name = imageWithData(storage, registry);
    byte[] stored = storage.get(name);
    try (BlockDevice d = registry.open(storage.location(name), params(true))) {
      snapshot(d);
      assertExtentsTileAndAgree(d, "read-only open");
      d.info();
      if (d.capabilities().contains(Capability.CHECK)) {
        d.check(CheckMode.REPORT);
      }
      d.flush();
    }
    byte[] after = storage.get(name);
    assertEquals(stored.length, after.length, "the image's length after a read-only open");
    assertSameBytes(stored, 0, after, 0, stored.length, "the stored image after a read-only open");
  }

  @Test
  public void capabilitiesFollowTheDeclaredFeatures() throws IOException {
    BlockRegistry registry = registry();
    Storage storage = closeAfterTest(Storage.memory(registry));
    String name = imageWithData(storage, registry);
    Set<DriverFeature> features = driver().features();
    try (BlockDevice rw = registry.open(storage.location(name), params(false))) {
      Set<Capability> caps = rw.capabilities();
      assertEquals(features.contains(DriverFeature.WRITE), caps.contains(Capability.WRITE),
          "a read-write open claims WRITE exactly when the driver declares it");
      for (Capability c : new Capability[] {Capability.CHECK, Capability.REPAIR,
          Capability.RESIZE}) {
        assertTrue(!caps.contains(c) || features.contains(DriverFeature.valueOf(c.name())),
            "the device claims " + c + " but the driver does not declare DriverFeature." + c
                + ", so the registry refuses it before it is asked");
      }
    }
    try (BlockDevice ro = registry.open(storage.location(name), params(true))) {
      assertFalse(ro.capabilities().contains(Capability.WRITE), "a read-only open claims WRITE");
    }
  }
}
