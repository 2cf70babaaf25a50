package io.blockkit.qcow2;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/**
 * Creates an image with qemu-img's options. The new file gets qemu's first clusters (header,
 * refcount table, one refcount block) with an empty L1 table; then the image is opened and grown
 * to its size, which lays out the L1 table through the normal allocator, and preallocated as
 * asked ({@code metadata}: every L2 table and data cluster mapped; {@code falloc}: the file
 * extended over them; {@code full}: zeros written).
 */
final class Qcow2Create {
  static final List<OptionSpec> OPTIONS = List.of(
      OptionSpec.size("size", null, "Virtual disk size (default: the backing file's)"),
      OptionSpec.choice("compat", "1.1", "Compatibility level: 0.10 (version 2) or 1.1 "
          + "(version 3)", "0.10", "1.1", "v2", "v3"),
      OptionSpec.string("backing_file", null, "File name of a base image"),
      OptionSpec.string("backing_fmt", null, "Image format of the base image (default: probed)"),
      OptionSpec.size("cluster_size", "64K", "qcow2 cluster size: a power of two from 512 "
          + "to 2M"),
      OptionSpec.choice("preallocation", "off", "Preallocation mode", "off", "metadata",
          "falloc", "full"),
      OptionSpec.bool("lazy_refcounts", false, "Postpone refcount updates (version 3)"),
      OptionSpec.integer("refcount_bits", "16", "Width of a reference count entry in bits: 1, "
          + "2, 4, 8, 16, 32 or 64"),
      OptionSpec.bool("extended_l2", false, "Extended L2 entries: 32 subclusters per cluster "
          + "(version 3, clusters of 16K or more)"),
      OptionSpec.choice("compression_type", "zlib", "Compression method for compressed "
          + "clusters (zstd needs version 3)", "zlib", "zstd"),
      OptionSpec.string("data_file", null, "File name of an external data file (version 3)"),
      OptionSpec.bool("data_file_raw", false, "The external data file must stay a valid raw "
          + "image"),
      OptionSpec.bool("encryption", false, "Encrypt the image (not supported; accepted as off)"));

  /** The checked options. */
  record Settings(long size, int version, long clusterSize, int refcountOrder,
      boolean extendedL2, boolean lazyRefcounts, int compressionType, String preallocation,
      String dataFile, boolean dataFileRaw) {}

  private final Qcow2Driver driver;
  private final CreateRequest request;

  Qcow2Create(Qcow2Driver driver, CreateRequest request) {
    this.driver = driver;
    this.request = request;
  }

  /** Checks the options that do not need a backing or data file. */
  static Settings settings(Options o, long defaultSize) throws InvalidOptionException {
    String compat = o.string("compat");
    int version = compat.equals("0.10") || compat.equals("v2") ? 2 : 3;
    // qemu rounds up to whole sectors: reading the header, it keeps whole sectors only, so an
    // unrounded size would lose the tail of a convert's last sector
    long size = o.has("size") ? o.size("size") : defaultSize;
    if (size > 0 && size % 512 != 0 && size < Long.MAX_VALUE - 512) {
      size = (size + 511) / 512 * 512;
    }
    long cs = o.size("cluster_size");
    if (Long.bitCount(cs) != 1 || cs < 512 || cs > (2 << 20)) {
      throw new InvalidOptionException("Option 'cluster_size': " + cs + " is not allowed; "
          + "expected a power of two from 512 to 2097152 (2M)");
    }
    long bits = o.integer("refcount_bits");
    if (bits < 1 || bits > 64 || Long.bitCount(bits) != 1) {
      throw new InvalidOptionException("Option 'refcount_bits': " + bits + " is not allowed; "
          + "expected 1, 2, 4, 8, 16, 32 or 64");
    }
    boolean ext = o.bool("extended_l2");
    boolean lazy = o.bool("lazy_refcounts");
    int ctype = o.string("compression_type").equals("zstd") ? Qcow2Header.COMPRESSION_ZSTD
        : Qcow2Header.COMPRESSION_ZLIB;
    String dataFile = o.has("data_file") ? o.string("data_file") : null;
    boolean raw = o.bool("data_file_raw");
    if (version == 2) {
      String needs = bits != 16 ? "refcount_bits other than 16" : ext ? "extended_l2"
          : lazy ? "lazy_refcounts" : ctype != 0 ? "compression_type=zstd"
          : dataFile != null ? "data_file" : null;
      if (needs != null) {
        throw new InvalidOptionException(needs + " needs compat=1.1 (qcow2 version 3)");
      }
    }
    if (ext && cs < (16 << 10)) {
      throw new InvalidOptionException("extended_l2 needs a cluster_size of at least 16K "
          + "(subclusters of at least 512 bytes), not " + cs);
    }
    if (raw && dataFile == null) {
      throw new InvalidOptionException("data_file_raw needs data_file");
    }
    if (o.bool("encryption")) {
      throw new InvalidOptionException("Encrypted qcow2 images are not supported");
    }
    if (size < 0 || Layout.ceilDiv(Layout.ceilDiv(size, cs), cs / (ext ? 16 : 8))
        > Qcow2Header.MAX_L1_BYTES / 8) {
      throw new InvalidOptionException("Option 'size': " + size + " bytes is too large for "
          + cs + "-byte clusters (the L1 table would exceed 32 MiB)");
    }
    return new Settings(size, version, cs, Long.numberOfTrailingZeros(bits), ext, lazy, ctype,
        o.string("preallocation"), dataFile, raw);
  }

  void run() throws IOException {
    BlockDevice file = request.child();
    if (file == null) {
      throw new InvalidOptionException("The qcow2 format needs a child node (a file) to create "
          + "in");
    }
    Options o = request.options();
    String backingName = o.has("backing_file") ? o.string("backing_file") : null;
    String backingFmt = o.has("backing_fmt") ? o.string("backing_fmt") : null;
    long backingSize = -1;
    if (backingName != null) {
      try (BlockDevice b = request.related().openBacking(backingName, backingFmt)
          .orElseThrow(() -> new InvalidOptionException("The backing file cannot be dropped "
              + "while creating an image over it"))) {
        backingSize = b.size();
        backingFmt = b.driver().name();
      }
    }
    if (!o.has("size") && backingSize < 0) {
      throw new InvalidOptionException("Option 'size' is required to create a qcow2 image "
          + "without a backing file");
    }
    Settings s = settings(o, backingSize);
    if (backingName != null && !s.preallocation().equals("off") && !s.extendedL2()) {
      throw new InvalidOptionException("Backing file and preallocation can only be used at the "
          + "same time if extended_l2 is on");
    }
    if (backingName != null && s.dataFileRaw()) {
      throw new InvalidOptionException("Backing file and data_file_raw cannot be used at the "
          + "same time");
    }
    BlockDevice data = null;
    if (s.dataFile() != null) {
      data = request.related().createFile(s.dataFile());
    }
    try {
      writeFirstClusters(file, s, backingName, backingFmt);
      try (BlockDevice keep = new KeepOpen(file);
          Qcow2Image img = (Qcow2Image) driver.open(new OpenRequest(request.location(), keep,
              Options.of(Map.of(), driver.openOptions()), false, false, null, w -> { },
              new DataFileOnly(data)))) {
        new Changes(img).grow(s.size(), s.preallocation(), s.dataFileRaw());
      }
    } finally {
      if (data != null) {
        data.close();
      }
    }
  }

  /** Header (with its extensions), a one-cluster refcount table and one refcount block. */
  private static void writeFirstClusters(BlockDevice file, Settings s, String backingName,
      String backingFmt) throws IOException {
    Qcow2Header h = new Qcow2Header();
    h.version = s.version();
    h.clusterBits = Long.numberOfTrailingZeros(s.clusterSize());
    h.size = 0;
    h.l1Size = 0;
    h.l1Offset = 3 * s.clusterSize();
    h.refcountTableOffset = s.clusterSize();
    h.refcountTableClusters = 1;
    h.refcountOrder = s.refcountOrder();
    h.headerLength = s.version() == 2 ? Qcow2Header.V2_LENGTH : Qcow2Header.V3_LENGTH;
    if (s.version() == 3) {
      h.compressionType = s.compressionType();
      h.incompatible = (s.compressionType() != 0 ? Features.COMPRESSION_TYPE : 0)
          | (s.extendedL2() ? Features.EXTENDED_L2 : 0)
          | (s.dataFile() != null ? Features.DATA_FILE : 0);
      h.compatible = s.lazyRefcounts() ? Features.LAZY_REFCOUNTS : 0;
      h.autoclear = s.dataFileRaw() ? Features.DATA_FILE_RAW : 0;
    }
    h.backingFile = backingName;
    h.backingFormat = backingName != null ? backingFmt : null;
    h.dataFile = s.dataFile();
    Layout layout = h.layout();
    int cs = (int) s.clusterSize();
    ByteBuffer first = ByteBuffer.allocate(3 * cs);
    first.put(0, h.encode());
    first.putLong(cs, 2L * cs);
    Refcounts codec = new Refcounts("", file, layout, null, null, new long[0], 0, 0, 0,
        () -> { });
    byte[] block = new byte[cs];
    for (int c = 0; c < 3; c++) {
      codec.write(block, c, 1);
    }
    first.put(2 * cs, block);
    file.write(0, first);
  }

  /**
   * The size qemu-img measure calls fully allocated: header, L2 and L1 tables for every
   * cluster, the data, and the refcount table and blocks that count all of it.
   */
  static long fullyAllocatedSize(long virtual, long cs, int refcountOrder, boolean extendedL2) {
    long entryBytes = extendedL2 ? 16 : 8;
    long meta = cs;
    long l2Entries = Layout.ceilDiv(virtual / cs, cs / entryBytes) * (cs / entryBytes);
    meta += l2Entries * entryBytes;
    long l1Entries = Layout.ceilDiv(l2Entries * entryBytes / cs, cs / 8) * (cs / 8);
    meta += l1Entries * 8;
    long clusters = (meta + virtual) / cs;
    long perBlock = cs * 8 / (1L << refcountOrder);
    long perTable = cs / 8;
    long table = 0;
    long blocks = 0;
    long n = 0;
    long last;
    do {
      last = n;
      blocks = Layout.ceilDiv(clusters + table + blocks, perBlock);
      table = Layout.ceilDiv(blocks, perTable);
      n = clusters + blocks + table;
    } while (n != last);
    return meta + (blocks + table) * cs + virtual;
  }
}
