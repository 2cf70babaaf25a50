package io.blockkit.qcow2;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.Measurement;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.WellKnownOptions;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;

/** The {@code qcow2} format driver. Stateless; see the package documentation. */
public final class Qcow2Driver implements BlockDriver {
  /** The driver's name. */
  public static final String NAME = "qcow2";
  static final long DEFAULT_L2_CACHE = 16L << 20;
  static final long DEFAULT_REFCOUNT_CACHE = 4L << 20;
  /** Bytes a probe needs: qemu reads one sector. */
  static final int PROBE_HEADER = 512;

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public DriverKind kind() {
    return DriverKind.FORMAT;
  }

  @Override
  public String description() {
    return "QEMU copy-on-write image (qcow2), versions 2 and 3 (compat 0.10 and 1.1)";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.CREATE, DriverFeature.WRITE, DriverFeature.BACKING,
        DriverFeature.CHECK, DriverFeature.REPAIR, DriverFeature.RESIZE, DriverFeature.AMEND,
        DriverFeature.SNAPSHOTS, DriverFeature.MEASURE);
  }

  /**
   * 100 for the magic and a version of at least 2 in a first sector of 512 bytes (qemu's probe
   * buffer; every real image is longer), else 0.
   */
  @Override
  public int probe(ProbeInput input) {
    if (input.available() < PROBE_HEADER) {
      return 0;
    }
    return input.u32be(0) == Integer.toUnsignedLong(Qcow2Header.MAGIC) && input.u32be(4) >= 2
        ? PROBE_EXACT : 0;
  }

  @Override
  public List<OptionSpec> openOptions() {
    return List.of(
        OptionSpec.bool(WellKnownOptions.COMPRESS, false, "Write every whole cluster compressed (what "
            + "convert -c asks for); partial clusters are written plainly"),
        OptionSpec.size("l2-cache-size", null, "Bytes of L2 tables kept in memory (default 16M)"),
        OptionSpec.size("refcount-cache-size", null,
            "Bytes of refcount blocks kept in memory (default 4M)"),
        OptionSpec.string("snapshot.name", null,
            "Open this internal snapshot (read-only) instead of the active layer"),
        OptionSpec.string("snapshot.id", null, "Open the internal snapshot with this id"),
        OptionSpec.bool(WellKnownOptions.NO_FLUSH, false, "Skip the flushes that order metadata writes "
            + "(safe for a new image a crash would discard anyway, as convert makes it)"),
        OptionSpec.string("data-file", null, "The external data file (default: the name the "
            + "image records)"));
  }

  @Override
  public List<OptionSpec> createOptions() {
    return Qcow2Create.OPTIONS;
  }

  @Override
  public List<OptionSpec> amendOptions() {
    return Changes.AMEND_OPTIONS;
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    BlockDevice file = request.child();
    if (file == null) {
      throw new InvalidOptionException("The qcow2 format needs a child node (a file) to open");
    }
    String location = request.location();
    long length = file.size();
    ByteBuffer head = ByteBuffer.allocate((int) Math.min(length, 512));
    file.read(0, head);
    head.flip();
    if (head.limit() >= 24 && head.getInt(0) == Qcow2Header.MAGIC) {
      int bits = head.getInt(20);
      if (bits >= Qcow2Header.MIN_CLUSTER_BITS && bits <= Qcow2Header.MAX_CLUSTER_BITS) {
        head = ByteBuffer.allocate((int) Math.min(length, 1L << bits));
        file.read(0, head);
        head.flip();
      }
    }
    Qcow2Header h = Qcow2Header.parse(location, head, length);
    Options o = request.options();
    BlockDevice dataFile = null;
    BlockDevice backing = null;
    try {
      String dataName = o.has("data-file") ? o.string("data-file") : h.dataFile;
      if (h.has(Features.DATA_FILE)) {
        if (dataName == null) {
          throw new InvalidOptionException("'data-file' is required for '" + location
              + "': it keeps its data in an external file but does not name it");
        }
        dataFile = request.related().openFile(dataName, request.readOnly());
      } else if ((h.autoclear & Features.DATA_FILE_RAW) != 0) {
        throw new CorruptImageException(location, "header.autoclear_features", 88,
            "0x" + Long.toHexString(h.autoclear), "data-file-raw (bit 1) only with an external "
            + "data file (incompatible bit 2)");
      }
      SnapshotTable snapshots = SnapshotTable.read(location, file, h, length);
      SnapshotTable.Snapshot view = snapshotView(request, snapshots);
      long[] l1 = view != null ? ClusterMap.readL1(file, view.l1Offset(), view.l1Size())
          : ClusterMap.readL1(file, h.l1Offset, h.l1Size);
      Bitmaps bitmaps = Bitmaps.read(file, h, length);
      if (h.backingFile != null || request.related().backingOverridden()) {
        backing = request.related().openBacking(h.backingFile, h.backingFormat).orElse(null);
      }
      Qcow2Image img = new Qcow2Image(this, location, request.readOnly(), file, dataFile,
          backing, h, l1, view, snapshots, bitmaps, length, o);
      img.relatedName = request.related()::resolve;
      if (!request.readOnly() && h.has(Features.DIRTY) && !h.has(Features.CORRUPT)) {
        // As qemu does: refcounts a crash left stale (lazy refcounts) are rebuilt at once.
        request.warnings().accept("WARNING: '" + location + "' was not closed cleanly (dirty "
            + "bit set); its refcounts are being rebuilt");
        try {
          img.repairDirty();
        } catch (IOException | RuntimeException e) {
          img.close();
          throw e;
        }
      }
      return img;
    } catch (IOException | RuntimeException e) {
      for (BlockDevice d : new BlockDevice[] {dataFile, backing}) {
        if (d != null) {
          try {
            d.close();
          } catch (IOException suppressed) {
            e.addSuppressed(suppressed);
          }
        }
      }
      throw e;
    }
  }

  private static SnapshotTable.Snapshot snapshotView(OpenRequest request, SnapshotTable table)
      throws InvalidOptionException {
    Options o = request.options();
    String want = o.has("snapshot.id") ? o.string("snapshot.id")
        : o.has("snapshot.name") ? o.string("snapshot.name") : null;
    if (want == null) {
      return null;
    }
    if (!request.readOnly()) {
      throw new InvalidOptionException("Internal snapshot '" + want + "' of '"
          + request.location() + "' can only be opened read-only");
    }
    SnapshotTable.Snapshot s = table.find(want);
    if (s == null) {
      throw new InvalidOptionException("'" + request.location() + "' has no internal snapshot '"
          + want + "' (it has " + table.snapshots().size() + ")");
    }
    return s;
  }

  @Override
  public void create(CreateRequest request) throws IOException {
    new Qcow2Create(this, request).run();
  }

  /**
   * {@code qemu-img measure}: the fully allocated size from the geometry, and the size needed
   * for the clusters of {@code source} that hold data (every cluster when a backing file is
   * named, which may share nothing with the source).
   */
  @Override
  public Measurement measure(Options options, BlockDevice source) throws IOException {
    Qcow2Create.Settings s = Qcow2Create.settings(options, source == null
        ? (options.has("size") ? options.size("size") : 0) : source.size());
    long cs = s.clusterSize();
    long virtual = Layout.ceilDiv(s.size(), cs) * cs;
    long required = 0;
    if (source != null) {
      if (options.has("backing_file")) {
        required = virtual;
      } else {
        long size = source.size();
        long pos = 0;
        while (pos < size) {
          BackingChain.Status st = BackingChain.status(source, pos, size - pos);
          long n = st.extent().length();
          if (!st.extent().zero() && st.extent().data()) {
            long end = Layout.ceilDiv(pos + n, cs) * cs;
            required += pos % cs + (end - pos);
            n = end - pos;
          }
          pos += n;
        }
      }
    } else if (s.preallocation().equals("full") || s.preallocation().equals("falloc")) {
      required = virtual;
    }
    long full = Qcow2Create.fullyAllocatedSize(virtual, cs, s.refcountOrder(), s.extendedL2());
    return new Measurement(full - virtual + required, full);
  }
}
