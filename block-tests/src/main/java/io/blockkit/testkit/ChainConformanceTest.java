package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.Extent;
import io.blockkit.api.error.BackingChainException;
import io.blockkit.registry.BlockRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The backing-chain suite, for every format driver that declares {@link DriverFeature#BACKING}
 * (and can create and write images): chains of the format over raw images and over itself, built
 * through the registry in one {@link Storage} folder, checked against a {@link ChainModel}.
 *
 * <p>It checks read-through of unallocated ranges, zeros past a shorter backing's end,
 * copy-on-write when a write covers part of an unallocated cluster (the rest keeps the backing's
 * bytes, also after reopening and with the backing dropped), that the backing is never written,
 * {@link BackingChain#status} depths, that zeroed and discarded ranges of an overlay never fall
 * back to the backing's data (VirtualBox's gh-850), the registry's {@code backing=null} and
 * {@code backing.file.filename=} overrides, a missing backing, {@code info().backing()}, and
 * concurrent copy-on-write.
 *
 * <p>{@link FormatConformanceTest} runs it on memory and on files for its driver; a driver joins
 * by declaring {@link DriverFeature#BACKING} (and, when its create options do not take qemu's
 * {@code backing_file}/{@code backing_fmt}, by overriding {@link #overlayOptions}). Extend it
 * directly only to run it for a driver outside a {@link FormatConformanceTest}.
 */
public abstract class ChainConformanceTest extends KitSupport {
  private ChainBench bench;

  // ---------------------------------------------------------------- hooks

  /** The format driver under test. */
  protected abstract BlockDriver driver();

  /**
   * A fresh, empty folder for the chain's images; the kit closes it after the test.
   *
   * @throws IOException when the storage cannot be made
   */
  protected abstract Storage newStorage() throws IOException;

  /**
   * The format's unit of allocation, where copy-on-write happens: writes go on and across its
   * multiples.
   */
  protected int naturalBlockSize() {
    return 4096;
  }

  /**
   * Create options for an image of {@code size} bytes over the backing stored as {@code
   * backingName} (a name relative to the image's folder) of format {@code backingFormat} (null:
   * record none). Default: qemu-img's {@code size}, {@code backing_file}, {@code backing_fmt}.
   */
  protected Map<String, String> overlayOptions(long size, String backingName,
      String backingFormat) {
    return qemuOverlayOptions(size, backingName, backingFormat);
  }

  /**
   * qemu-img's create options for an image over a backing: {@code size}, {@code backing_file} and
   * {@code backing_fmt}.
   */
  public static Map<String, String> qemuOverlayOptions(long size, String backingName,
      String backingFormat) {
    Map<String, String> o = new LinkedHashMap<>();
    o.put("size", Long.toString(size));
    o.put("backing_file", backingName);
    if (backingFormat != null) {
      o.put("backing_fmt", backingFormat);
    }
    return o;
  }

  /**
   * The format of the images at the bottom of the chains: {@code raw} by default. A format whose
   * images can only sit over images of their own format (a VDI finds its parent by UUID) returns
   * its own name; the kit then creates those bases with {@code size} alone and writes their
   * content through the registry.
   */
  protected String baseFormat() {
    return "raw";
  }

  /**
   * True when the image records its backing's name, so a missing backing is named in the error;
   * false for formats that find it by identity (VDI: by UUID), whose error names the identity.
   */
  protected boolean recordsBackingName() {
    return true;
  }

  /**
   * The registry the chains are built and opened with: by default {@link #registryWith}.
   *
   * @throws IOException when the registry cannot load
   */
  protected BlockRegistry registry() throws IOException {
    return registryWith(driver());
  }

  @BeforeEach
  final void setUpChain() throws IOException {
    BlockDriver d = driver();
    assumeFeature(d, DriverFeature.BACKING, "it has no backing files");
    String readOnly = "a read-only driver proves its chains with a FormatFixtureConformanceTest "
        + "whose fixture holds the backing file";
    assumeFeature(d, DriverFeature.CREATE, readOnly);
    assumeFeature(d, DriverFeature.WRITE, readOnly);
    BlockRegistry registry = registry();
    requireDriver(registry, "raw");
    bench = new ChainBench(this, registry, closeAfterTest(newStorage()));
  }

  // ---------------------------------------------------------------- tests

  @Test
  public void unallocatedRangesReadTheBacking() throws IOException {
    ChainModel model = bench.simpleChain(8);
    BlockDevice top = bench.open(bench.top(), false);
    assertTrue(top.backing().orElseThrow().isReadOnly(), "the backing opens read-only");
    bench.assertChainMatches(top, model, "fresh overlay");
    byte[] content = model.top().content();
    for (int i = 0; i < 200; i++) {
      int[] r = randomRange(content.length, bench.cluster());
      assertSameBytes(content, r[0], readAll(top, r[0], r[1]), r[0], r[1], "read of " + r[1]);
    }
    for (long pos = 0; pos < top.size(); ) {
      Extent own = top.blockStatus(pos, top.size() - pos);
      assertFalse(own.allocated(), "a fresh overlay allocates " + own);
      pos = own.end();
    }
  }

  @Test
  public void infoNamesTheBacking() throws IOException {
    bench.simpleChain(2);
    for (boolean readOnly : new boolean[] {false, true}) {
      bench.reopened(bench.top(), readOnly, Map.of(), d -> {
        BackingLink link = d.info().backing();
        assertEquals(bench.base("base"), link.filename(), "the name as stored");
        assertEquals(bench.storage.location(bench.base("base")), link.fullFilename(),
            "where it points");
        assertEquals(baseFormat(), link.format(), "the format as stored");
      });
    }
  }

  @Test
  public void pastAShorterBackingsEndReadsZeros() throws IOException {
    int c = bench.cluster();
    int baseSize = 2 * c + c / 2 + 7;
    ChainModel model = new ChainModel(c, bench.rawBase(bench.base("base"), baseSize, 1, 127));
    ChainModel.Layer layer = model.overlay(6 * c);
    bench.createOverlay(bench.top(), 6L * c, bench.base("base"), baseFormat());
    BlockDevice top = bench.open(bench.top(), false);
    bench.assertChainMatches(top, model, "over a shorter backing");
    // copy-on-write of the cluster holding the backing's end: its head from the backing, the
    // rest zeros
    byte[] data = randomBytes(10, 128, 255);
    writeAll(top, 2L * c + 3, data);
    layer.write(2 * c + 3, data);
    bench.assertChainMatches(top, model,
        "after a write into the cluster holding the backing's end");
    top.close();
    bench.reopened(bench.top(), true, Map.of(),
        d -> bench.assertChainMatches(d, model, "after reopening"));
    bench.assertDetachedReads(bench.top(), layer, "after reopening");
  }

  @Test
  public void partialWritesCopyTheRestOfTheClusterFromTheBacking() throws IOException {
    int c = bench.cluster();
    ChainModel model = bench.simpleChain(10);
    ChainModel.Layer layer = model.top();
    BlockDevice top = bench.open(bench.top(), false);
    int[][] writes = {
        {0, 1}, // the first byte of cluster 0
        {c + c / 2 - 50, 100}, // inside cluster 1
        {3 * c - 10, 20}, // across the boundary of clusters 2 and 3
        {5 * c - 1, 1}, // the last byte of cluster 4
        {6 * c - 1, c + 2}, // the last byte of 5, all of 6, the first byte of 7
        {c + 10, 5}, // again into cluster 1, allocated now
    };
    for (int[] w : writes) {
      byte[] data = randomBytes(w[1], 128, 255);
      writeAll(top, w[0], data);
      layer.write(w[0], data);
      bench.assertChainMatches(top, model, "after writing " + w[1] + " bytes at " + w[0]);
    }
    top.flush();
    top.close();
    bench.reopened(bench.top(), false, Map.of(),
        d -> bench.assertChainMatches(d, model, "after reopening"));
    bench.assertDetachedReads(bench.top(), layer, "after partial writes");
  }

  @Test
  public void writesNeverChangeTheBacking() throws IOException {
    int c = bench.cluster();
    bench.simpleChain(6);
    byte[] base = bench.storage.get(bench.base("base"));
    BlockDevice top = bench.open(bench.top(), false);
    for (int i = 0; i < 40; i++) {
      int off = random().nextInt(6 * c);
      int len = 1 + random().nextInt(Math.min(6 * c - off, 2 * c));
      switch (random().nextInt(3)) {
        case 0 -> writeAll(top, off, randomBytes(len));
        case 1 -> top.writeZeroes(off, len);
        default -> top.discard(off, len);
      }
    }
    top.flush();
    top.close();
    byte[] after = bench.storage.get(bench.base("base"));
    assertEquals(base.length, after.length, "the backing's length");
    assertSameBytes(base, 0, after, 0, base.length, "the backing after writes to its overlay");
  }

  /**
   * VirtualBox's gh-850: a zeroed range of an overlay must read zeros, and keep reading zeros
   * after reopening, never the parent's data; a discarded range reads zeros or its old data.
   *
   * @throws IOException when the driver under test fails
   */
  @Test
  public void zeroedAndDiscardedRangesNeverRevertToTheBacking() throws IOException {
    int c = bench.cluster();
    ChainModel model = bench.simpleChain(8);
    byte[] base = model.top().content();
    BlockDevice top = bench.open(bench.top(), false);
    byte[] exact = base.clone();
    for (int k : new int[] {1, 2, 6}) {
      byte[] data = randomBytes(c, 128, 255);
      writeAll(top, (long) k * c, data);
      System.arraycopy(data, 0, exact, k * c, c);
    }
    int[][] zeroes = {{0, c}, {c, c}, {3 * c + 100, 100}, {6 * c + 10, 10}};
    for (int[] z : zeroes) {
      top.writeZeroes(z[0], z[1]);
      Arrays.fill(exact, z[0], z[0] + z[1], (byte) 0);
    }
    byte[] orZero = exact.clone();
    for (int k : new int[] {2, 4}) { // cluster 2 allocated, cluster 4 not
      top.discard((long) k * c, c);
      Arrays.fill(orZero, k * c, (k + 1) * c, (byte) 0);
    }
    bench.assertEachByteIsOneOf(snapshot(top), exact, orZero, "after zeroing and discarding");
    for (int k : new int[] {0, 1}) {
      assertEquals(0, BackingChain.status(top, (long) k * c, c).depth(),
          "a zeroed cluster " + k + " is decided by the overlay");
    }
    byte[] before = snapshot(top);
    top.flush();
    top.close();
    bench.reopened(bench.top(), false, Map.of(),
        d -> assertImageEquals(before, d, "after reopening"));
    // With the backing dropped, whatever the overlay decided reads as before; the rest zeros.
    byte[] decided = new byte[before.length];
    byte[] orOld = new byte[before.length];
    for (int p = 0; p < before.length; p++) {
      int k = p / c;
      decided[p] = k <= 3 || k == 6 ? before[p] : 0; // written, zeroed, or discarded after writing
      orOld[p] = k == 4 ? before[p] : decided[p]; // discarded while unallocated: either
    }
    bench.reopened(bench.top(), true, Map.of("backing", "null"), d -> bench.assertEachByteIsOneOf(
        snapshot(d), decided, orOld, "with backing=null after zeroing and discarding"));
  }

  @Test
  public void chainDepthsMatchAModel() throws IOException {
    int c = bench.cluster();
    String mid = "mid." + driver().name();
    ChainModel model = new ChainModel(c, bench.rawBase(bench.base("base"), 5 * c + 300, 1, 127));
    bench.createOverlay(mid, 7L * c, bench.base("base"), baseFormat());
    bench.reopened(mid, false, Map.of(), m -> {
      bench.randomOps(m, model.overlay(7 * c), 12);
      m.flush();
    });
    bench.createOverlay(bench.top(), 8L * c, mid, driver().name());
    BlockDevice top = bench.open(bench.top(), false);
    bench.randomOps(top, model.overlay(8 * c), 12);
    bench.assertChainMatches(top, model, "raw base, " + driver().name() + " middle and top");
    top.close();
    bench.reopened(bench.top(), true, Map.of(),
        d -> bench.assertChainMatches(d, model, "after reopening"));
  }

  @Test
  public void backingOverridesThroughTheRegistry() throws IOException {
    int c = bench.cluster();
    bench.rawBase(bench.base("a"), 4 * c, 1, 127);
    byte[] b = bench.rawBase(bench.base("b"), 4 * c, 128, 255);
    bench.createOverlay(bench.top(), 4L * c, bench.base("a"), baseFormat());
    byte[] mine = randomBytes(c);
    bench.reopened(bench.top(), false, Map.of(), w -> {
      writeAll(w, c, mine);
      w.flush();
    });
    byte[] expected = new byte[4 * c];
    System.arraycopy(mine, 0, expected, c, c);
    bench.reopened(bench.top(), true, Map.of("backing", "null"), dropped -> {
      assertTrue(dropped.backing().isEmpty(), "backing=null opened a backing");
      assertImageEquals(expected, dropped, "with backing=null");
      assertEquals(bench.base("a"), dropped.info().backing().filename(),
          "info() names the stored backing even when it was dropped");
    });
    byte[] overB = expected.clone();
    System.arraycopy(b, 0, overB, 0, c);
    System.arraycopy(b, 2 * c, overB, 2 * c, 2 * c);
    Map<String, String> toB = Map.of("backing.file.filename",
        bench.storage.location(bench.base("b")), "backing.driver", baseFormat());
    bench.reopened(bench.top(), true, toB, other -> assertImageEquals(overB, other,
        "with backing.file.filename naming another image"));
  }

  @Test
  public void aMissingBackingIsABackingChainException() throws IOException {
    bench.simpleChain(2);
    bench.storage.delete(bench.base("base"));
    String missing = bench.storage.location(bench.base("base"));
    for (boolean readOnly : new boolean[] {true, false}) {
      BackingChainException e = assertThrows(BackingChainException.class,
          () -> bench.registry.open(bench.storage.location(bench.top()),
              bench.params(readOnly, Map.of())));
      if (recordsBackingName()) {
        assertEquals(missing, e.chain().get(e.chain().size() - 1), "the chain ends at the "
            + "missing image");
        assertTrue(e.getMessage().contains(missing), e.getMessage());
      } else {
        // Found by identity: the image cannot name the file; the chain ends at what is missing.
        assertEquals(2, e.chain().size(), "the chain names the image and what is missing: "
            + e.chain());
      }
    }
    String other = "other." + driver().name();
    assertThrows(BackingChainException.class,
        () -> bench.createOverlay(other, 2L * bench.cluster(), bench.base("gone"),
            baseFormat()));
    assertFalse(bench.storage.exists(other),
        "a create over a missing backing left an image behind");
  }

  /**
   * Threads writing disjoint parts of one unallocated cluster at once each copy-on-write it.
   *
   * @throws Exception when the driver under test fails or a writer thread is interrupted
   */
  @Test
  public void concurrentPartialWritesIntoOneClusterAllLand() throws Exception {
    int c = bench.cluster();
    ChainModel model = bench.simpleChain(8);
    ChainModel.Layer layer = model.top();
    BlockDevice top = bench.open(bench.top(), false);
    int writers = 4;
    int slice = c / writers;
    for (int k = 0; k < 8; k++) {
      CyclicBarrier start = new CyclicBarrier(writers);
      List<Callable<Void>> tasks = new ArrayList<>();
      for (int t = 0; t < writers; t++) {
        int off = k * c + t * slice + 1;
        byte[] data = randomBytes(slice / 2, 128, 255);
        layer.write(off, data);
        tasks.add(() -> {
          start.await();
          writeAll(top, off, data);
          return null;
        });
      }
      ConcurrencyTests.runAll(tasks);
    }
    bench.assertChainMatches(top, model, "after concurrent partial writes");
  }
}
