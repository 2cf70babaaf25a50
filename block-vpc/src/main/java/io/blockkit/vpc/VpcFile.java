package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * What an image's file says, read and validated: which footer to trust, the dynamic header, the
 * BAT and the parent's names. Everything an open refuses is refused here, before anything is
 * sized from a field; what it tolerates (a damaged footer copy, a header checksum, an unreadable
 * locator) is kept in {@link #problems} for check and reported as a warning.
 */
final class VpcFile {
  static final int SECTOR = 512;
  /** qemu's and Hyper-V's limit: 2040 GiB. */
  static final long MAX_SIZE = 0xff000000L * SECTOR;
  static final long MIN_BLOCK_SIZE = SECTOR;
  static final long MAX_BLOCK_SIZE = 256L << 20;
  /** The most BAT entries held in memory (64 MiB): 2040 GiB in blocks of 128 KiB. */
  static final long MAX_ENTRIES = 1L << 24;
  /** Creator applications whose images qemu sizes by current_size rather than CHS. */
  static final Set<String> CURRENT_SIZE_CREATORS = Set.of("win ", "qem2", "d2v ", "CTXS", "tap\0");

  /** The {@code force_size_calc} open option's values. */
  static final String CALC_CHS = "chs";
  static final String CALC_CURRENT_SIZE = "current_size";

  /** A metadata region of the file, for overlap checks. */
  record Region(String name, long start, long end) {}

  /** A parent name from a locator (or the header's unicode name) with where it came from. */
  record ParentName(String name, String source) {}

  final String location;
  final long length;
  final Footer footer;
  /** The last 512 bytes as found (null when the file is shorter). */
  final Footer endFooter;
  /** The first 512 bytes as found, for dynamic and differencing images (else null). */
  final Footer copy;
  final int type;
  final long size;
  /** True when the size came from current_size, false when from the geometry. */
  private boolean sizedByCurrentSize;
  final DynamicHeader header;
  final long headerOffset;
  final long blockSize;
  final int bitmapBytes;
  final long tableOffset;
  final int entries;
  final int[] bat;
  /** Metadata the blocks must not overlap: footer copy, header, BAT, locator data. */
  final List<Region> metadata = new ArrayList<>();
  /** Where metadata ends: new blocks never go below it. */
  final long metadataEnd;
  /** Parent names in the order they are tried. */
  final List<ParentName> parentNames = new ArrayList<>();
  /** The parent's format as a blockkit locator records it, or null (a VHD). */
  final String parentFormat;
  /** Findings open tolerated, for check. */
  final List<String> problems = new ArrayList<>();

  private VpcFile(String location, BlockDevice file, String sizeCalc, Consumer<String> warnings)
      throws IOException {
    this.location = location;
    this.length = file.size();
    if (length < Footer.SIZE) {
      throw new CorruptImageException(location, "the file", -1, length + " bytes long",
          "at least the 512 bytes of a VHD footer");
    }
    Footer head = Footer.read(read(file, 0, Footer.SIZE));
    Footer end = Footer.read(read(file, length - Footer.SIZE, Footer.SIZE));
    this.endFooter = end;
    if (end.isValid() && end.type() == Footer.TYPE_FIXED) {
      footer = end;
      copy = null;
    } else if (head.isValid() && isDynamic(head.type())) {
      footer = head;
      copy = head;
      if (!end.equals(head)) {
        problems.add("the footer at the end of the file (offset " + (length - Footer.SIZE) + ") "
            + (end.isValid() ? "differs from the copy at offset 0" : end.problem()));
      }
    } else if (end.isValid() && isDynamic(end.type())) {
      footer = end;
      copy = head;
      problems.add("the footer copy at offset 0 " + (head.isValid()
          ? "differs from the footer at the end" : head.problem()));
    } else {
      throw noFooter(head, end);
    }
    type = footer.type();
    size = virtualSize(sizeCalc, warnings);
    if (type == Footer.TYPE_FIXED) {
      if (footer.currentSize() > length - Footer.SIZE) {
        throw new CorruptImageException(location, "footer.current_size", length - Footer.SIZE
            + 48, Long.toString(footer.currentSize()), "at most the " + (length - Footer.SIZE)
            + " bytes of data before the footer of a fixed disk");
      }
      header = null;
      headerOffset = -1;
      blockSize = 0;
      bitmapBytes = 0;
      tableOffset = -1;
      entries = 0;
      bat = new int[0];
      metadataEnd = 0;
      parentFormat = null;
    } else {
      headerOffset = footer.dataOffset();
      if (headerOffset < Footer.SIZE || headerOffset > length - DynamicHeader.SIZE) {
        throw new CorruptImageException(location, "footer.data_offset", 16,
            Long.toString(headerOffset), "the offset of the 1024-byte dynamic header, inside the "
                + length + "-byte file and after the footer copy at 0");
      }
      header = DynamicHeader.read(read(file, headerOffset, DynamicHeader.SIZE));
      if (!header.hasCookie()) {
        throw new CorruptImageException(location, "header.cookie", headerOffset,
            "not \"cxsparse\"", "\"cxsparse\" at the offset footer.data_offset names");
      }
      if (!header.checksumValid()) {
        problems.add("the dynamic header's checksum (at offset " + (headerOffset + 36) + ") is 0x"
            + Long.toHexString(header.storedChecksum()) + " where its bytes sum to 0x"
            + Long.toHexString(Footer.checksum(header.raw(), DynamicHeader.CHECKSUM_OFFSET)));
      }
      blockSize = header.blockSize();
      if (Long.bitCount(blockSize) != 1 || blockSize < MIN_BLOCK_SIZE
          || blockSize > MAX_BLOCK_SIZE) {
        throw new CorruptImageException(location, "header.block_size", headerOffset + 32,
            Long.toString(blockSize), "a power of two from 512 bytes to 256 MiB");
      }
      long sectorsPerBlock = blockSize / SECTOR;
      long bits = (sectorsPerBlock + 7) / 8;
      bitmapBytes = (int) ((bits + SECTOR - 1) / SECTOR * SECTOR);
      long maxEntries = header.maxTableEntries();
      long needed = (size + blockSize - 1) / blockSize;
      if (maxEntries < needed) {
        throw new CorruptImageException(location, "header.max_table_entries", headerOffset + 28,
            Long.toString(maxEntries), "at least " + needed + " to cover the " + size
                + "-byte disk in blocks of " + blockSize + " bytes");
      }
      if (maxEntries > MAX_ENTRIES) {
        throw new UnsupportedFeatureException("VHD image '" + location + "' has a BAT of "
            + maxEntries + " entries (header.max_table_entries at offset " + (headerOffset + 28)
            + "); blockkit holds at most " + MAX_ENTRIES + " in memory (2040 GiB in blocks of "
            + "128 KiB)");
      }
      tableOffset = header.tableOffset();
      if (tableOffset < 0 || tableOffset > length - 4 * maxEntries) {
        throw new CorruptImageException(location, "header.table_offset", headerOffset + 16,
            Long.toString(tableOffset), "the offset of a " + 4 * maxEntries
                + "-byte BAT inside the " + length + "-byte file");
      }
      entries = (int) maxEntries;
      metadata.add(new Region("the footer copy", 0, Footer.SIZE));
      metadata.add(new Region("the dynamic header", headerOffset,
          headerOffset + DynamicHeader.SIZE));
      metadata.add(new Region("the BAT", tableOffset, tableOffset + 4 * maxEntries));
      refuseOverlaps(metadata);
      bat = readBat(file);
      parentFormat = type == Footer.TYPE_DIFFERENCING ? readParentNames(file) : null;
      long end0 = 0;
      for (Region r : metadata) {
        end0 = Math.max(end0, r.end());
      }
      metadataEnd = (end0 + SECTOR - 1) / SECTOR * SECTOR;
    }
    for (String p : problems) {
      warnings.accept("WARNING: VHD image '" + location + "': " + p + " (blockkit check -r all "
          + "repairs it)");
    }
  }

  /**
   * Reads and validates the image in {@code file}.
   *
   * @param sizeCalc {@code chs}, {@code current_size} or null for qemu's rule by creator
   * @throws CorruptImageException for a footer, header or BAT that cannot be used
   * @throws UnsupportedFeatureException for a disk type or size blockkit does not handle
   */
  static VpcFile read(String location, BlockDevice file, String sizeCalc,
      Consumer<String> warnings) throws IOException {
    return new VpcFile(location, file, sizeCalc, warnings);
  }

  /** {@code current_size} or {@code chs}: where the virtual size came from. */
  String sizeSource() {
    return sizedByCurrentSize ? CALC_CURRENT_SIZE : CALC_CHS;
  }

  static boolean isDynamic(int type) {
    return type == Footer.TYPE_DYNAMIC || type == Footer.TYPE_DIFFERENCING;
  }

  boolean isFixed() {
    return type == Footer.TYPE_FIXED;
  }

  boolean isDifferencing() {
    return type == Footer.TYPE_DIFFERENCING;
  }

  /** Bytes a block takes in the file: its sector bitmap and its data. */
  long blockFootprint() {
    return bitmapBytes + blockSize;
  }

  /** BAT entries the virtual disk uses (entries past them are never read). */
  long usedEntries() {
    return blockSize == 0 ? 0 : (size + blockSize - 1) / blockSize;
  }

  private CorruptImageException noFooter(Footer head, Footer end) {
    for (Footer f : new Footer[] {head, end}) {
      if (f.isValid() && !isDynamic(f.type()) && f.type() != Footer.TYPE_FIXED) {
        return new CorruptImageException(location, "footer.disk_type", (f == head ? 0
            : length - Footer.SIZE) + 60, Footer.typeName(f.type()),
            "2 (fixed), 3 (dynamic) or 4 (differencing)");
      }
    }
    if (head.isValid() && head.type() == Footer.TYPE_FIXED) {
      return new CorruptImageException(location, "the footer at offset 0 describes a fixed disk, "
          + "but a fixed disk's footer is its last 512 bytes, and the last 512 bytes "
          + (end.problem() != null ? end.problem() : "say otherwise"));
    }
    if (head.hasCookie() || end.hasCookie()) {
      return new CorruptImageException(location, "no VHD footer can be trusted: the footer at "
          + "offset 0 " + (head.problem() != null ? head.problem() : "is not a footer")
          + "; the footer at the end (offset " + (length - Footer.SIZE) + ") "
          + (end.problem() != null ? end.problem() : "is not a footer"));
    }
    return new CorruptImageException(location, "the footer", length - Footer.SIZE,
        "missing (neither offset 0 nor the last 512 bytes start with \"conectix\")",
        "a VHD footer");
  }

  /**
   * qemu's rule: the geometry's C x H x S sectors, unless the creator is one of those that size
   * by current_size (Hyper-V's {@code win }, qemu's {@code qem2} from force_size, Disk2vhd,
   * XenServer) or the geometry is the maximum, which cannot describe the disk. The open option
   * overrides the creator rule, never the maximum geometry.
   */
  private long virtualSize(String sizeCalc, Consumer<String> warnings) throws IOException {
    Geometry g = footer.geometry();
    long chs = g.sectors() * SECTOR;
    long current = footer.currentSize() / SECTOR * SECTOR;
    boolean byCurrent;
    if (CALC_CURRENT_SIZE.equals(sizeCalc)) {
      byCurrent = true;
    } else if (CALC_CHS.equals(sizeCalc)) {
      byCurrent = g.isMax();
    } else {
      byCurrent = g.isMax() || CURRENT_SIZE_CREATORS.contains(footer.creatorApp());
    }
    long chosen = byCurrent ? current : chs;
    sizedByCurrentSize = byCurrent;
    if (!byCurrent && chs != current) {
      warnings.accept("WARNING: VHD image '" + location + "': the disk size is taken from the "
          + "geometry " + g + " (" + chs + " bytes), as Virtual PC and qemu do for creator '"
          + footer.creatorApp().replace('\0', ' ').trim() + "'; footer.current_size says "
          + footer.currentSize() + " (open with force_size_calc=current_size to use it)");
    }
    if (type == Footer.TYPE_FIXED && chosen > current) {
      // The geometry would reach into the footer: the data a fixed disk holds is what counts.
      chosen = current;
      sizedByCurrentSize = true;
    }
    if (chosen > MAX_SIZE || footer.currentSize() < 0) {
      throw new UnsupportedFeatureException("VHD image '" + location + "' is " + chosen
          + " bytes (footer.current_size " + Long.toUnsignedString(footer.currentSize())
          + ", geometry " + g + "); the largest VHD is 2040 GiB (" + MAX_SIZE + " bytes)");
    }
    return chosen;
  }

  /** Footer copy, header and BAT must not overlap: then nothing in them can be trusted. */
  private void refuseOverlaps(List<Region> regions) throws CorruptImageException {
    for (int i = 0; i < regions.size(); i++) {
      for (int j = i + 1; j < regions.size(); j++) {
        Region a = regions.get(i);
        Region b = regions.get(j);
        if (a.start() < b.end() && b.start() < a.end()) {
          throw new CorruptImageException(location, b.name() + " (bytes " + b.start() + ".."
              + b.end() + ") overlaps " + a.name() + " (bytes " + a.start() + ".." + a.end()
              + ")");
        }
      }
    }
  }

  private int[] readBat(BlockDevice file) throws IOException {
    int[] out = new int[entries];
    int chunk = 1 << 14;
    for (int first = 0; first < entries; first += chunk) {
      int n = Math.min(chunk, entries - first);
      ByteBuffer b = read(file, tableOffset + 4L * first, 4 * n);
      b.asIntBuffer().get(out, first, n);
    }
    return out;
  }

  /**
   * The parent's names, from the locators that hold one (relative first) and last the header's
   * unicode name; returns the format a blockkit locator records, or null.
   */
  private String readParentNames(BlockDevice file) throws IOException {
    String format = null;
    List<ParentLocator> locators = header.locators();
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < locators.size(); i++) {
      if (locators.get(i).isUsed()) {
        order.add(i);
      }
    }
    order.sort(Comparator.comparingInt(i -> locators.get(i).preference()));
    for (int i : order) {
      ParentLocator l = locators.get(i);
      boolean readable = l.holdsName() || l.code() == ParentLocator.BKFM;
      if (!readable) {
        continue;
      }
      long at = headerOffset + DynamicHeader.LOCATORS_OFFSET + 24L * i;
      if (l.dataLength() == 0 || l.dataLength() > ParentLocator.MAX_DATA || l.dataOffset() < 0
          || l.dataOffset() > length - l.dataLength()) {
        problems.add("parent locator " + i + " (" + ParentLocator.codeName(l.code())
            + ", at offset " + at + ") names " + l.dataLength() + " bytes at offset "
            + l.dataOffset() + ", not inside the " + length + "-byte file; it is ignored");
        continue;
      }
      String name = l.decode(read(file, l.dataOffset(), (int) l.dataLength()).array());
      metadata.add(new Region("parent locator " + i + "'s data", l.dataOffset(),
          l.dataOffset() + l.dataLength()));
      if (name == null) {
        continue;
      }
      if (l.code() == ParentLocator.BKFM) {
        format = name;
      } else {
        parentNames.add(new ParentName(name, "parent locator " + i + " ("
            + ParentLocator.codeName(l.code()) + ")"));
      }
    }
    String unicode = header.parentName();
    if (!unicode.isEmpty()) {
      parentNames.add(new ParentName(ParentLocator.portable(unicode), "header.parent_name"));
    }
    return format;
  }

  static ByteBuffer read(BlockDevice file, long offset, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.BIG_ENDIAN);
    file.read(offset, b);
    b.flip();
    return b;
  }
}
