package io.blockkit.vhdx;

import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The metadata region: a 64 KiB table of items, and the items this driver knows (file parameters,
 * virtual disk size and ID, logical and physical sector sizes, parent locator).
 *
 * @param blockSize bytes per payload block, a power of two from 1 MiB to 256 MiB
 * @param leaveBlockAllocated the file parameters' bit for a fully provisioned (fixed) image
 * @param hasParent the image is a differencing image (then {@code locator} is set)
 * @param virtualSize the disk's size, a multiple of the logical sector size, at most 64 TiB
 * @param diskId the virtual disk ID (QEMU's "page83" data)
 * @param logicalSectorSize 512 or 4096
 * @param physicalSectorSize 512 or 4096
 * @param locator the parent locator, or null
 * @param items every table entry, for check and info
 */
record Metadata(long blockSize, boolean leaveBlockAllocated, boolean hasParent,
    long virtualSize, UUID diskId, int logicalSectorSize, int physicalSectorSize,
    ParentLocator locator, List<Item> items) {

  static final long SIGNATURE = 0x617461646174656DL; // "metadata"
  static final int TABLE_BYTES = 64 * 1024;
  static final int MAX_ENTRIES = 2047;
  static final int MAX_USER_ENTRIES = 1024;
  static final long MAX_ITEM = Layout.MIB;
  static final UUID FILE_PARAMETERS = UUID.fromString("caa16737-fa36-4d43-b3b6-33f0aa44e76b");
  static final UUID VIRTUAL_DISK_SIZE = UUID.fromString("2fa54224-cd1b-4876-b211-5dbed83bf4b8");
  static final UUID VIRTUAL_DISK_ID = UUID.fromString("beca12ab-b2e6-4523-93ef-c309e000c746");
  static final UUID LOGICAL_SECTOR_SIZE = UUID.fromString("8141bf1d-a96f-4709-ba47-f233a8faab5f");
  static final UUID PHYSICAL_SECTOR_SIZE =
      UUID.fromString("cda348c7-445d-4471-9cc9-e9885251c556");
  static final UUID PARENT_LOCATOR = UUID.fromString("a8d35f2d-b30b-454d-abf7-d3d84834ab0c");
  static final int IS_USER = 1;
  static final int IS_VIRTUAL_DISK = 2;
  static final int IS_REQUIRED = 4;

  /** One table entry. */
  record Item(UUID id, long offset, long length, int flags) {
    boolean user() {
      return (flags & IS_USER) != 0;
    }

    long end() {
      return offset + length;
    }
  }

  /**
   * Reads and checks the table and the known items of the region.
   *
   * @throws CorruptImageException when the table or an item breaks a rule, or a required item is
   *     missing
   * @throws UnsupportedFeatureException when a required item is unknown
   */
  static Metadata read(ImageFile file, String location, RegionTable.Region region)
      throws IOException {
    long base = region.offset();
    if (region.length() < TABLE_BYTES) {
      throw new CorruptImageException(location, "metadata region length", -1,
          Long.toString(region.length()), "at least 64 KiB");
    }
    requireInFile(file, location, base, TABLE_BYTES, "metadata table");
    ByteBuffer t = file.read(base, TABLE_BYTES);
    if (t.getLong(0) != SIGNATURE) {
      throw new CorruptImageException(location, "metadata table signature", base,
          String.format("0x%016x", t.getLong(0)), "\"metadata\"");
    }
    int count = Short.toUnsignedInt(t.getShort(10));
    if (count > MAX_ENTRIES) {
      throw new CorruptImageException(location, "metadata table entry count", base + 10,
          Integer.toString(count), "at most " + MAX_ENTRIES);
    }
    List<Item> items = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    int users = 0;
    for (int i = 0; i < count; i++) {
      int at = 32 + 32 * i;
      Item item = new Item(Guids.get(t, at), Integer.toUnsignedLong(t.getInt(at + 16)),
          Integer.toUnsignedLong(t.getInt(at + 20)), t.getInt(at + 24));
      String what = "metadata table entry " + i + " (" + item.id() + ")";
      boolean empty = item.length() == 0 && item.offset() == 0;
      if (!empty && (item.offset() < TABLE_BYTES || item.length() > MAX_ITEM
          || item.end() > region.length())) {
        throw new CorruptImageException(location, what, base + at, "at " + item.offset() + ", "
            + item.length() + " bytes", "an item of at most 1 MiB from offset 65536 inside the "
            + region.length() + "-byte region (or offset and length 0)");
      }
      if (!ids.add(item.id() + "/" + item.user())) {
        throw new CorruptImageException(location, what, base + at, "a second entry for "
            + item.id(), "each item once");
      }
      for (Item o : items) {
        if (item.length() > 0 && o.length() > 0 && item.offset() < o.end()
            && o.offset() < item.end()) {
          throw new CorruptImageException(location, what, base + at, "at " + item.offset()
              + ".." + item.end() + ", overlapping item " + o.id(), "items that do not overlap");
        }
      }
      if (item.user() && ++users > MAX_USER_ENTRIES) {
        throw new CorruptImageException(location, "metadata table", base, "more than "
            + MAX_USER_ENTRIES + " user items", "at most " + MAX_USER_ENTRIES);
      }
      if ((item.flags() & IS_REQUIRED) != 0 && (item.user() || !known(item.id()))) {
        throw new UnsupportedFeatureException("VHDX image '" + location + "' requires metadata "
            + "item " + item.id() + " (" + what + "), which this driver does not know");
      }
      items.add(item);
    }
    return parseItems(file, location, base, items);
  }

  private static void requireInFile(ImageFile file, String location, long offset, long length,
      String what) throws CorruptImageException {
    if (offset + length > file.length()) {
      throw new CorruptImageException(location, what, offset, "at " + offset + ".."
          + (offset + length), "inside the " + file.length() + "-byte file (it was truncated)");
    }
  }

  private static boolean known(UUID id) {
    return id.equals(FILE_PARAMETERS) || id.equals(VIRTUAL_DISK_SIZE)
        || id.equals(VIRTUAL_DISK_ID) || id.equals(LOGICAL_SECTOR_SIZE)
        || id.equals(PHYSICAL_SECTOR_SIZE) || id.equals(PARENT_LOCATOR);
  }

  private static Metadata parseItems(ImageFile file, String location, long base,
      List<Item> items) throws IOException {
    ByteBuffer params = item(file, location, base, items, FILE_PARAMETERS, 8, "file parameters");
    ByteBuffer size = item(file, location, base, items, VIRTUAL_DISK_SIZE, 8,
        "virtual disk size");
    ByteBuffer id = item(file, location, base, items, VIRTUAL_DISK_ID, 16, "virtual disk ID");
    ByteBuffer logical = item(file, location, base, items, LOGICAL_SECTOR_SIZE, 4,
        "logical sector size");
    ByteBuffer physical = item(file, location, base, items, PHYSICAL_SECTOR_SIZE, 4,
        "physical sector size");
    long blockSize = Integer.toUnsignedLong(params.getInt(0));
    int bits = params.getInt(4);
    long at = offsetOf(base, items, FILE_PARAMETERS);
    if (blockSize < Layout.MIN_BLOCK || blockSize > Layout.MAX_BLOCK
        || !Layout.isPowerOfTwo(blockSize)) {
      throw new CorruptImageException(location, "file parameters block size", at,
          Long.toString(blockSize), "a power of two from 1 MiB to 256 MiB");
    }
    int lss = logical.getInt(0);
    int pss = physical.getInt(0);
    if (lss != 512 && lss != 4096) {
      throw new CorruptImageException(location, "logical sector size",
          offsetOf(base, items, LOGICAL_SECTOR_SIZE), Integer.toUnsignedString(lss),
          "512 or 4096");
    }
    if (pss != 512 && pss != 4096) {
      throw new CorruptImageException(location, "physical sector size",
          offsetOf(base, items, PHYSICAL_SECTOR_SIZE), Integer.toUnsignedString(pss),
          "512 or 4096");
    }
    long virtualSize = size.getLong(0);
    if (virtualSize < 0 || virtualSize > Layout.MAX_VIRTUAL_SIZE || virtualSize % lss != 0) {
      throw new CorruptImageException(location, "virtual disk size",
          offsetOf(base, items, VIRTUAL_DISK_SIZE), Long.toUnsignedString(virtualSize),
          "a multiple of the " + lss + "-byte logical sector size up to 64 TiB");
    }
    boolean hasParent = (bits & 2) != 0;
    ParentLocator locator = null;
    Item loc = find(items, PARENT_LOCATOR);
    if (hasParent) {
      if (loc == null || loc.length() == 0) {
        throw new CorruptImageException(location, "metadata", base, "a differencing image "
            + "(HasParent set) without a parent locator", "a parent locator item");
      }
      requireInFile(file, location, base + loc.offset(), loc.length(), "parent locator");
      ByteBuffer b = file.read(base + loc.offset(), (int) loc.length());
      locator = ParentLocator.parse(b, location, base + loc.offset());
    }
    return new Metadata(blockSize, (bits & 1) != 0, hasParent, virtualSize, Guids.get(id, 0),
        lss, pss, locator, List.copyOf(items));
  }

  private static Item find(List<Item> items, UUID id) {
    for (Item i : items) {
      if (i.id().equals(id) && !i.user()) {
        return i;
      }
    }
    return null;
  }

  private static long offsetOf(long base, List<Item> items, UUID id) {
    return base + find(items, id).offset();
  }

  private static ByteBuffer item(ImageFile file, String location, long base, List<Item> items,
      UUID id, int minLength, String what) throws IOException {
    Item i = find(items, id);
    if (i == null) {
      throw new CorruptImageException(location, "metadata table", base, "without the " + what
          + " item (" + id + ")", "every required item");
    }
    if (i.length() < minLength) {
      throw new CorruptImageException(location, what + " item length", base, i.length()
          + " bytes", "at least " + minLength);
    }
    requireInFile(file, location, base + i.offset(), minLength, what + " item");
    return file.read(base + i.offset(), minLength);
  }

  /** The type qemu-img info shows: differencing, fixed or dynamic. */
  String type() {
    return hasParent ? "differencing" : leaveBlockAllocated ? "fixed" : "dynamic";
  }

  /**
   * The region's bytes for a new image: the table and the items, packed from 64 KiB on, with the
   * flags the specification gives each.
   */
  static ByteBuffer encode(long blockSize, boolean fixed, long virtualSize, UUID diskId,
      int logicalSectorSize, int physicalSectorSize, ParentLocator locator, long regionLength) {
    ByteBuffer b = ByteBuffer.allocate((int) Math.min(regionLength, TABLE_BYTES + 4 * Layout.KIB
        + (locator != null ? locator.encode().limit() : 0)))
        .order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(0, SIGNATURE);
    List<Object[]> entries = new ArrayList<>();
    ByteBuffer params = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    params.putInt(0, (int) blockSize);
    params.putInt(4, (fixed ? 1 : 0) | (locator != null ? 2 : 0));
    entries.add(new Object[] {FILE_PARAMETERS, params, IS_REQUIRED});
    ByteBuffer size = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, virtualSize);
    entries.add(new Object[] {VIRTUAL_DISK_SIZE, size, IS_VIRTUAL_DISK | IS_REQUIRED});
    ByteBuffer id = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    Guids.put(id, 0, diskId);
    entries.add(new Object[] {VIRTUAL_DISK_ID, id, IS_VIRTUAL_DISK | IS_REQUIRED});
    entries.add(new Object[] {LOGICAL_SECTOR_SIZE, ByteBuffer.allocate(4)
        .order(ByteOrder.LITTLE_ENDIAN).putInt(0, logicalSectorSize), IS_VIRTUAL_DISK | IS_REQUIRED});
    entries.add(new Object[] {PHYSICAL_SECTOR_SIZE, ByteBuffer.allocate(4)
        .order(ByteOrder.LITTLE_ENDIAN).putInt(0, physicalSectorSize),
        IS_VIRTUAL_DISK | IS_REQUIRED});
    if (locator != null) {
      entries.add(new Object[] {PARENT_LOCATOR, locator.encode(), IS_REQUIRED});
    }
    b.putShort(10, (short) entries.size());
    int data = TABLE_BYTES;
    for (int i = 0; i < entries.size(); i++) {
      Object[] e = entries.get(i);
      ByteBuffer value = (ByteBuffer) e[1];
      int at = 32 + 32 * i;
      Guids.put(b, at, (UUID) e[0]);
      b.putInt(at + 16, data);
      b.putInt(at + 20, value.limit());
      b.putInt(at + 24, (Integer) e[2]);
      b.put(data, value, 0, value.limit());
      data += value.limit();
    }
    return b;
  }
}
