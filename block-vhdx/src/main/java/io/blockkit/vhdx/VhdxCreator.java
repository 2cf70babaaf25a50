package io.blockkit.vhdx;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Creates images. Layout: the header section (identifier with creator "blockkit", two headers
 * with sequence numbers 1 and 2 and no log GUID, two identical region tables), the log at 1 MiB,
 * the BAT after it (a multiple of 1 MiB), the metadata region (1 MiB), then the payload: nothing
 * for a dynamic or differencing image, every block in order for a fixed one (sparse in the file).
 */
final class VhdxCreator {
  static final String CREATOR = "blockkit";

  /** What a differencing image needs to know about its parent. */
  private record Parent(String storedName, String format, long size, UUID dataWriteGuid,
      UUID diskId, Integer sectorSize, Integer physicalSectorSize, Long blockSize) {}

  private VhdxCreator() {}

  static void create(CreateRequest request) throws IOException {
    BlockDevice child = request.child();
    if (child == null) {
      throw new InvalidOptionException("The vhdx format needs a child node (a file) to create in");
    }
    Options o = request.options();
    boolean fixed = o.string("subformat").equals("fixed");
    Parent parent = null;
    if (o.has("backing_file")) {
      if (fixed) {
        throw new InvalidOptionException("Options 'subformat=fixed' and 'backing_file' "
            + "contradict each other: a differencing image is never fixed");
      }
      parent = parent(request, o.string("backing_file"),
          o.has("backing_fmt") ? o.string("backing_fmt") : null);
    }
    if (!o.has("size") && parent == null) {
      throw new InvalidOptionException("Option 'size' is required to create a vhdx image");
    }
    int sector = o.has("logical_sector_size") ? Integer.parseInt(o.string("logical_sector_size"))
        : parent != null && parent.sectorSize() != null ? parent.sectorSize() : 512;
    if (parent != null && parent.sectorSize() != null && parent.sectorSize() != sector) {
      throw new InvalidOptionException("Option 'logical_sector_size': " + sector + " differs "
          + "from the parent's " + parent.sectorSize() + "-byte sectors; a differencing image "
          + "must have its parent's");
    }
    long requested = o.has("size") ? o.size("size") : parent.size();
    if (requested < 0 || requested > Layout.MAX_VIRTUAL_SIZE) {
      throw new InvalidOptionException("Option 'size': " + requested + " bytes is not allowed; "
          + "a vhdx image holds at most 64 TiB (70368744177664 bytes)");
    }
    long size = Layout.roundUp(requested, sector);
    long blockSize = o.size("block_size");
    if (blockSize == 0) {
      blockSize = parent != null && parent.blockSize() != null ? parent.blockSize()
          : defaultBlockSize(size);
    }
    if (blockSize < Layout.MIN_BLOCK || blockSize > Layout.MAX_BLOCK
        || !Layout.isPowerOfTwo(blockSize)) {
      throw new InvalidOptionException("Option 'block_size': " + blockSize + " is not allowed; "
          + "expected a power of two from 1048576 (1M) to 268435456 (256M), or 0 for automatic");
    }
    long logSize = o.size("log_size");
    if (logSize < Layout.MIB || logSize % Layout.MIB != 0 || logSize >= 4 * Layout.GIB) {
      throw new InvalidOptionException("Option 'log_size': " + logSize + " is not allowed; "
          + "expected a multiple of 1M from 1M to below 4G");
    }
    Geometry g = new Geometry(size, blockSize, sector, parent != null);
    long logOffset = Layout.HEADER_SECTION;
    long batOffset = logOffset + logSize;
    long batLength = Math.max(Layout.MIB, Layout.roundUp(8 * g.entries(), Layout.MIB));
    long metaOffset = batOffset + batLength;
    long dataStart = metaOffset + Layout.MIB;
    long end = fixed ? dataStart + g.dataBlocks() * blockSize : dataStart;

    ParentLocator locator = parent == null ? null : locator(parent);
    UUID diskId = parent != null && parent.diskId() != null ? parent.diskId() : Guids.random();
    int physical = parent != null && parent.physicalSectorSize() != null
        ? parent.physicalSectorSize() : sector;

    ByteBuffer ident = ByteBuffer.allocate(Layout.CREATOR_OFFSET + Layout.CREATOR_BYTES)
        .order(ByteOrder.LITTLE_ENDIAN);
    ident.putLong(0, Layout.FILE_SIGNATURE);
    ident.put(Layout.CREATOR_OFFSET, CREATOR.getBytes(StandardCharsets.UTF_16LE));
    child.write(0, ident);
    UUID fileWrite = Guids.random();
    UUID dataWrite = Guids.random();
    for (int i = 0; i < 2; i++) {
      VhdxHeader h = new VhdxHeader(i + 1, fileWrite, dataWrite, Guids.NULL, 0, 1, logSize,
          logOffset);
      child.write(i == 0 ? Layout.HEADER1_OFFSET : Layout.HEADER2_OFFSET, h.encode());
    }
    RegionTable regions = new RegionTable(java.util.List.of(
        new RegionTable.Region(RegionTable.BAT, batOffset, batLength, true),
        new RegionTable.Region(RegionTable.METADATA, metaOffset, Layout.MIB, true)), null);
    child.write(Layout.REGION1_OFFSET, regions.encode());
    child.write(Layout.REGION2_OFFSET, regions.encode());
    child.write(metaOffset, Metadata.encode(blockSize, fixed, size, diskId, sector, physical,
        locator, Layout.MIB));
    writeBat(child, g, batOffset, fixed, dataStart, parent == null && o.bool("block_state_zero"));
    child.writeZeroes(end - 1, 1);
  }

  /** qemu-img's choice: 8 MiB up to 1 GiB, 16 MiB up to 100 GiB, 32 MiB up to 32 TiB, 64 MiB above. */
  static long defaultBlockSize(long size) {
    if (size > 32 * Layout.TIB) {
      return 64 * Layout.MIB;
    }
    if (size > 100 * Layout.GIB) {
      return 32 * Layout.MIB;
    }
    return size > Layout.GIB ? 16 * Layout.MIB : 8 * Layout.MIB;
  }

  /**
   * The payload entries: FULLY_PRESENT blocks in order for a fixed image, ZERO or NOT_PRESENT
   * (zeros in the file, nothing to write) for a dynamic one, NOT_PRESENT for a differencing one.
   * Written a megabyte at a time.
   */
  private static void writeBat(BlockDevice child, Geometry g, long batOffset, boolean fixed,
      long dataStart, boolean zeroState) throws IOException {
    if (!fixed && !zeroState) {
      return;
    }
    long ratio = g.chunkRatio();
    long count = g.entries();
    int chunk = (int) (Layout.MIB / 8);
    for (long first = 0; first < count; first += chunk) {
      int n = (int) Math.min(chunk, count - first);
      ByteBuffer b = ByteBuffer.allocate(8 * n).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        long index = first + i;
        if (index % (ratio + 1) == ratio) {
          continue; // a sector bitmap entry: not present
        }
        long block = index - index / (ratio + 1);
        b.putLong(8 * i, fixed ? BatState.entry(BatState.FULLY_PRESENT,
            dataStart + block * g.blockSize()) : BatState.ZERO);
      }
      child.write(batOffset + 8 * first, b);
    }
  }

  /** Opens the parent to learn its size and identity (a missing parent fails the create). */
  private static Parent parent(CreateRequest request, String name, String format)
      throws IOException {
    String stored = storedName(request.location(), name);
    try (BlockDevice b = request.related().openBacking(name, format)
        .orElseThrow(() -> new InvalidOptionException("the backing file was dropped"))) {
      if (!b.driver().name().equals(VhdxDriver.NAME)) {
        return new Parent(stored, format, b.size(), null, null, null, null, null);
      }
      Map<String, Object> f = b.info().formatSpecific();
      return new Parent(stored, VhdxDriver.NAME, b.size(),
          UUID.fromString((String) f.get("data-write-guid")),
          UUID.fromString((String) f.get("virtual-disk-id")),
          ((Number) f.get("logical-sector-size")).intValue(),
          ((Number) f.get("physical-sector-size")).intValue(),
          ((Number) f.get("block-size")).longValue());
    }
  }

  /**
   * The parent's name as the locator stores it: relative to the new image's folder, with
   * Windows separators. An absolute host path is made relative; a name with a protocol prefix
   * cannot be stored.
   */
  static String storedName(String location, String name) throws InvalidOptionException {
    String relative = name;
    if (name.startsWith("/")) {
      if (hasPrefix(location)) {
        throw new InvalidOptionException("Option 'backing_file': '" + name + "' is an absolute "
            + "path, but a differencing VHDX names its parent relative to its own folder and "
            + "'" + location + "' is not a host file; give a name relative to it");
      }
      Path folder = Path.of(location).toAbsolutePath().normalize().getParent();
      relative = folder.relativize(Path.of(name).normalize()).toString();
    } else if (hasPrefix(name)) {
      throw new InvalidOptionException("Option 'backing_file': '" + name + "' names a "
          + "protocol; a differencing VHDX names its parent by a path relative to its own "
          + "folder");
    }
    return relative.replace('/', '\\');
  }

  private static boolean hasPrefix(String name) {
    int colon = name.indexOf(':');
    int slash = name.indexOf('/');
    return colon > 0 && (slash < 0 || colon < slash);
  }

  private static ParentLocator locator(Parent p) {
    Map<String, String> entries = new LinkedHashMap<>();
    if (p.dataWriteGuid() != null) {
      entries.put(ParentLocator.LINKAGE, Guids.braced(p.dataWriteGuid()));
      entries.put(ParentLocator.RELATIVE_PATH, p.storedName());
      return new ParentLocator(ParentLocator.VHDX_TYPE, entries);
    }
    entries.put(ParentLocator.RELATIVE_PATH, p.storedName());
    if (p.format() != null) {
      entries.put(ParentLocator.PARENT_FORMAT, p.format());
    }
    return new ParentLocator(ParentLocator.BLOCKKIT_TYPE, entries);
  }
}
