package io.blockkit.vmdk;

import static io.blockkit.vmdk.SparseHeader.SECTOR;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Opens the parts of a VMDK image: the descriptor (embedded in a sparse file, or a text file of
 * its own) and every extent it lists, each extent file through the request's related images
 * (relative to the descriptor, on any protocol). Owns what it opened until {@link #handOver}.
 */
final class VmdkOpener implements AutoCloseable {
  /** createTypes this driver opens; the others name devices or formats it does not read. */
  static final Set<String> KNOWN_TYPES = Set.of("monolithicSparse", "monolithicFlat",
      "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "streamOptimized", "vmfs", "vmfsSparse");
  /** createTypes that open read-only (their extents are read-only in this driver). */
  static final Set<String> READ_ONLY_TYPES = Set.of("vmfsSparse");

  private final OpenRequest request;
  private final String location;
  private final Map<String, BlockDevice> files = new LinkedHashMap<>();
  final List<DiskExtent> extents = new ArrayList<>();
  Descriptor descriptor;
  /** The sparse header of an embedded descriptor's file, or null for a text descriptor. */
  SparseHeader embeddedIn;

  VmdkOpener(OpenRequest request) {
    this.request = request;
    this.location = request.location();
  }

  void open() throws IOException {
    BlockDevice child = request.child();
    long length = child.size();
    ByteBuffer head = ByteBuffer.allocate((int) Math.min(length, SECTOR));
    child.read(0, head);
    head.flip();
    if (SparseHeader.hasMagic(head)) {
      openSparseFile(child, length, head);
    } else if (head.remaining() >= 4 && head.getInt(0) == 0x434f5744) { // "COWD"
      throw new UnsupportedFeatureException("'" + location + "' is a vmfsSparse (COWD) extent; "
          + "open the descriptor that lists it");
    } else {
      openTextDescriptor(child, length);
    }
  }

  private void openSparseFile(BlockDevice child, long length, ByteBuffer head)
      throws IOException {
    SparseHeader h = SparseHeader.parse(location, "header", head, length);
    embeddedIn = h;
    String text = "";
    if (h.descOffset != 0 && h.descSectors != 0) {
      long bytes = Math.min(h.descSectors * SECTOR, Descriptor.MAX_BYTES);
      ByteBuffer d = ByteBuffer.allocate((int) bytes);
      child.read(h.descOffset * SECTOR, d);
      text = cString(d.array());
    }
    boolean stream = h.has(SparseHeader.FLAG_COMPRESSED);
    if (text.isBlank()) {
      // An extent file opened by itself (a -s001.vmdk): a disk of its capacity.
      descriptor = Descriptor.parse(location, Descriptor.render(Descriptor.NO_PARENT,
          Descriptor.NO_PARENT, stream ? "streamOptimized" : "monolithicSparse", null,
          List.of(new ExtentLine("RW", h.capacity, "SPARSE", "", 0)), Map.of(), false));
    } else {
      descriptor = Descriptor.parse(location, text);
    }
    requireVersion(h);
    extents.add(sparse(child, location, h, h.capacity * SECTOR, !request.readOnly()));
  }

  private void requireVersion(SparseHeader h) throws IOException {
    if (h.version == 3 && !h.has(SparseHeader.FLAG_COMPRESSED) && !request.readOnly()) {
      throw new UnsupportedFeatureException("'" + location + "' is a version 3 sparse extent "
          + "without compression (it may track changed blocks, which blockkit does not keep): "
          + "it opens read-only only, as in QEMU");
    }
  }

  /** A sparse extent over {@code file}, stream-optimized ones (with a footer) included. */
  private SparseExtent sparse(BlockDevice file, String name, SparseHeader h, long bytes,
      boolean writable) throws IOException {
    long gdOffset = h.gdOffset;
    long fileLength = file.size();
    if (writable && h.grainBytes() > SparseExtent.MAX_WRITABLE_GRAIN) {
      throw new UnsupportedFeatureException("'" + name + "' has grains of " + h.grainBytes()
          + " bytes; blockkit writes grains of at most " + SparseExtent.MAX_WRITABLE_GRAIN
          + " bytes (open it read-only)");
    }
    if (h.gdAtEnd()) {
      SparseHeader f = footer(file, name, h, fileLength);
      gdOffset = f != null ? f.gdOffset : StreamExtent.NO_DIRECTORY;
    }
    if (h.has(SparseHeader.FLAG_COMPRESSED)) {
      return new StreamExtent(file, name, h, gdOffset, bytes, writable);
    }
    if (fileLength < h.overhead * SECTOR) {
      throw new CorruptImageException(name, "file length", -1, fileLength + " bytes",
          "at least the header's overhead of " + h.overhead * SECTOR + " bytes (truncated?)");
    }
    return new SparseExtent(file, name, h, gdOffset, bytes, writable);
  }

  /**
   * The footer of a stream (the last 1536 bytes: footer marker, footer, end-of-stream), or null
   * when a stream with markers ends without them (its writer was interrupted: the grains are
   * found from their markers).
   */
  private static SparseHeader footer(BlockDevice file, String name, SparseHeader h,
      long fileLength) throws IOException {
    if (fileLength < 4 * SECTOR) {
      if (h.has(SparseHeader.FLAG_MARKERS) && h.has(SparseHeader.FLAG_COMPRESSED)) {
        return null;
      }
      throw StreamExtent.noFooter(name, fileLength, "a " + fileLength + "-byte file");
    }
    ByteBuffer t = ByteBuffer.allocate(3 * SECTOR).order(ByteOrder.LITTLE_ENDIAN);
    file.read(fileLength - 3 * SECTOR, t);
    boolean marker = t.getLong(0) == 1 && t.getInt(8) == 0
        && t.getInt(12) == StreamExtent.MARKER_FOOTER;
    boolean eos = t.getLong(2 * SECTOR) == 0 && t.getInt(2 * SECTOR + 8) == 0
        && t.getInt(2 * SECTOR + 12) == StreamExtent.MARKER_EOS;
    if ((!marker || !eos) && h.has(SparseHeader.FLAG_MARKERS)
        && h.has(SparseHeader.FLAG_COMPRESSED)) {
      return null;
    }
    if (!marker || !eos) {
      throw StreamExtent.noFooter(name, fileLength, "no footer" + (marker ? "" : " marker")
          + (eos ? "" : " and no end-of-stream marker"));
    }
    SparseHeader f = SparseHeader.parse(name, "footer", t.slice(SECTOR, SECTOR), fileLength);
    if (f.gdAtEnd() || f.capacity != h.capacity || f.grainSectors != h.grainSectors
        || f.gtesPerGt != h.gtesPerGt) {
      throw new CorruptImageException(name, "stream-optimized footer", fileLength - 2 * SECTOR,
          "capacity " + f.capacity + ", grain " + f.grainSectors + ", gdOffset "
              + Long.toUnsignedString(f.gdOffset), "the header's capacity " + h.capacity
              + " and grain " + h.grainSectors + " with a real grain directory offset");
    }
    return f;
  }

  private void openTextDescriptor(BlockDevice child, long length) throws IOException {
    if (length > Descriptor.MAX_BYTES) {
      throw new CorruptImageException(location, "descriptor file", -1, length + " bytes",
          "a text descriptor of at most " + Descriptor.MAX_BYTES + " bytes");
    }
    ByteBuffer all = ByteBuffer.allocate((int) length);
    child.read(0, all);
    descriptor = Descriptor.parse(location, cString(all.array()));
    String type = descriptor.createType;
    if (!KNOWN_TYPES.contains(type)) {
      throw new UnsupportedFeatureException("'" + location + "' has createType \"" + type
          + "\", which blockkit does not open (it opens " + String.join(", ",
              KNOWN_TYPES.stream().sorted().toList()) + ")");
    }
    if (READ_ONLY_TYPES.contains(type) && !request.readOnly()) {
      throw new UnsupportedFeatureException("'" + location + "' is a " + type + " image, which "
          + "blockkit opens read-only only");
    }
    int n = 0;
    for (ExtentLine line : descriptor.extents) {
      n++;
      extents.add(extent(line, "extent " + n + " ('" + line.file() + "')"));
    }
    if (extents.isEmpty()) {
      throw new CorruptImageException(location, "descriptor", -1, "no extent lines",
          "at least one extent line");
    }
  }

  private DiskExtent extent(ExtentLine line, String name) throws IOException {
    long bytes = line.sectors() * SECTOR;
    boolean writable = !request.readOnly() && line.writable();
    switch (line.type()) {
      case "ZERO":
        return new ZeroExtent(name + " (ZERO)", bytes, true);
      case "FLAT":
      case "VMFS": {
        if (!line.readable()) {
          return new ZeroExtent(name + " (NOACCESS)", bytes, false);
        }
        BlockDevice f = file(line.file(), !writable);
        return new FlatExtent(f, line.file(), line.offset() * SECTOR, bytes, writable);
      }
      case "SPARSE": {
        if (!line.readable()) {
          return new ZeroExtent(name + " (NOACCESS)", bytes, false);
        }
        BlockDevice f = file(line.file(), !writable);
        long fl = f.size();
        ByteBuffer head = ByteBuffer.allocate((int) Math.min(fl, SECTOR));
        f.read(0, head);
        head.flip();
        SparseHeader h = SparseHeader.parse(line.file(), "header", head, fl);
        if (h.version == 3 && !h.has(SparseHeader.FLAG_COMPRESSED) && writable) {
          throw new UnsupportedFeatureException("Extent '" + line.file() + "' of '" + location
              + "' is a version 3 sparse extent without compression: it opens read-only only");
        }
        return sparse(f, line.file(), h, bytes, writable);
      }
      case "VMFSSPARSE": {
        if (!line.readable()) {
          return new ZeroExtent(name + " (NOACCESS)", bytes, false);
        }
        return CowdExtent.open(file(line.file(), true), line.file(), bytes);
      }
      default:
        throw new UnsupportedFeatureException("'" + location + "' has an extent of type "
            + line.type() + " (" + name + "), which blockkit does not read (it reads FLAT, "
            + "VMFS, SPARSE, VMFSSPARSE and ZERO)");
    }
  }

  /** Opens an extent file once, however many lines name it. */
  private BlockDevice file(String name, boolean readOnly) throws IOException {
    BlockDevice f = files.get(name);
    if (f == null) {
      try {
        f = request.related().openFile(name, readOnly);
      } catch (BlockException e) {
        throw new BlockException("Could not open extent '" + name + "' of '" + location + "': "
            + e.getMessage(), e);
      }
      files.put(name, f);
    }
    return f;
  }

  /** The extent files this opener opened, which the image owns from now on. */
  List<BlockDevice> handOver() {
    List<BlockDevice> out = new ArrayList<>(files.values());
    files.clear();
    return out;
  }

  static String cString(byte[] bytes) {
    int n = 0;
    while (n < bytes.length && bytes[n] != 0) {
      n++;
    }
    return new String(bytes, 0, n, StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    for (BlockDevice f : files.values()) {
      try {
        f.close();
      } catch (IOException | RuntimeException ignored) {
        // the open failed already; that failure is what the caller sees
      }
    }
    files.clear();
  }
}
