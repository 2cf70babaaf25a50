package io.blockkit.vdi;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.Set;

/** The {@code vdi} format driver: VirtualBox Disk Images. Stateless; see the package documentation. */
public final class VdiDriver implements BlockDriver {
  /** The driver's name. */
  public static final String NAME = "vdi";

  static final String PRE_HEADER_TEXT = "<<< Oracle VirtualBox Disk Image >>>\n";
  static final long DEFAULT_BLOCK_SIZE = 1L << 20;
  static final long MIN_CREATE_BLOCK_SIZE = 512L << 10;
  static final long MAX_CREATE_BLOCK_SIZE = 8L << 20;
  static final int CREATE_MAP_OFFSET = 512;
  static final int CREATE_DATA_ALIGNMENT = 4096;

  private final int mapPageShift;
  private final int mapCachePages;

  /** The driver as ServiceLoader makes it. */
  public VdiDriver() {
    this(BlockMap.DEFAULT_PAGE_SHIFT, BlockMap.defaultCacheLimit());
  }

  /** For tests: block maps held in pages of {@code 1 << mapPageShift} entries, few kept. */
  VdiDriver(int mapPageShift, int mapCachePages) {
    this.mapPageShift = mapPageShift;
    this.mapCachePages = mapCachePages;
  }

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
    return "VirtualBox Disk Image (VDI): dynamic and fixed images, versions 0.2 and 1.x";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.CREATE, DriverFeature.WRITE, DriverFeature.CHECK, DriverFeature.REPAIR);
  }

  /** 100 when the signature is at 0x40 of at least one 512-byte sector (as QEMU probes), else 0. */
  @Override
  public int probe(ProbeInput input) {
    if (input.available() < VdiHeader.SECTOR_SIZE) {
      return 0;
    }
    return input.u32le(VdiHeader.SIGNATURE_OFFSET) == VdiHeader.SIGNATURE ? PROBE_EXACT : 0;
  }

  @Override
  public List<OptionSpec> createOptions() {
    return List.of(
        OptionSpec.size("size", null, "Virtual disk size (rounded up to 512 bytes)"),
        OptionSpec.bool("static", false,
            "Create a fixed (preallocated) image, like qemu-img's static=on "
                + "(same as preallocation=metadata)"),
        OptionSpec.choice("preallocation", "off", "off: dynamic image; metadata: fixed image "
            + "with a sparse data area; full: fixed image with zeros written", "off", "metadata",
            "full"),
        OptionSpec.size("block_size", "1M", "Block size: a power of two from 512K to 8M "
            + "(QEMU opens only 1M)"),
        OptionSpec.uuid("uuid", "Image UUID (default: random)"),
        OptionSpec.string("comment", "", "Comment stored in the header (at most 255 bytes UTF-8)"));
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    BlockDevice file = request.child();
    if (file == null) {
      throw new InvalidOptionException("The vdi format needs a child node (a file) to open");
    }
    String location = request.location();
    long length = file.size();
    ByteBuffer head = ByteBuffer.allocate((int) Math.min(length, VdiHeader.SECTOR_SIZE));
    file.read(0, head);
    head.flip();
    VdiHeader header = VdiHeader.parse(location, head, length);
    if (!header.isV0() && (header.blocksOffset % VdiHeader.SECTOR_SIZE != 0
        || header.dataOffset % VdiHeader.SECTOR_SIZE != 0)) {
      request.warnings().accept("WARNING: VDI image '" + location + "' has a block map or data "
          + "offset that is not a multiple of 512 (" + header.blocksOffset + ", "
          + header.dataOffset + "); QEMU will not open it");
    }
    if (header.version != VdiHeader.VERSION_1_1) {
      request.warnings().accept("WARNING: VDI image '" + location + "' has version "
          + header.versionText() + "; QEMU opens only version 1.1");
    }
    if (!header.isV0() && header.legacyGeometry[3] != VdiHeader.SECTOR_SIZE) {
      // VirtualBox ignores the legacy geometry of 1.1 headers; QEMU refuses any other value.
      request.warnings().accept("WARNING: VDI image '" + location + "' has a legacy geometry "
          + "sector size (header.sector_size at offset 360) of "
          + Integer.toUnsignedString(header.legacyGeometry[3]) + ", not 512; QEMU will not open it");
    }
    BlockMap map = new BlockMap(file, header.blocksOffset, header.blocks, mapPageShift,
        mapCachePages);
    long nextFree = header.blocksAllocated;
    if (header.isDifferencing()) {
      long free = 0;
      BlockMap.Cursor scan = map.cursor();
      for (long b = 0; b < header.blocks; b++) {
        if (scan.get(b) == BlockMap.FREE) {
          free++;
        }
      }
      if (free > 0) {
        throw VdiImage.differencingUnsupported(location, header, free);
      }
    }
    if (!request.readOnly()) {
      nextFree = firstUnusedBlock(header, map, length);
    }
    return new VdiImage(this, location, request.readOnly(), file, header, map, nextFree, length);
  }

  /**
   * Where new blocks go: past the header's count, every block the map uses and every block the
   * file holds, so a stale header can never make us reuse a block the map still refers to.
   */
  private static long firstUnusedBlock(VdiHeader h, BlockMap map, long fileLength)
      throws IOException {
    long next = h.blocksAllocated;
    BlockMap.Cursor scan = map.cursor();
    for (long b = 0; b < h.blocks; b++) {
      int e = scan.get(b);
      // Entries past blocks_in_image are corrupt (check reports them); they do not move the end.
      if (BlockMap.isAllocated(e) && Integer.toUnsignedLong(e) < h.blocks) {
        next = Math.max(next, Integer.toUnsignedLong(e) + 1);
      }
    }
    if (fileLength > h.dataOffset) {
      long total = h.totalBlockSize();
      next = Math.max(next, (fileLength - h.dataOffset + total - 1) / total);
    }
    return next;
  }

  @Override
  public void create(CreateRequest request) throws IOException {
    BlockDevice file = request.child();
    if (file == null) {
      throw new InvalidOptionException("The vdi format needs a child node (a file) to create in");
    }
    Options o = request.options();
    if (!o.has("size")) {
      throw new InvalidOptionException("Option 'size' is required to create a vdi image");
    }
    long blockSize = o.size("block_size");
    if (Long.bitCount(blockSize) != 1 || blockSize < MIN_CREATE_BLOCK_SIZE
        || blockSize > MAX_CREATE_BLOCK_SIZE) {
      throw new InvalidOptionException("Option 'block_size': " + blockSize + " is not allowed; "
          + "expected a power of two from 524288 (512K) to 8388608 (8M), as VirtualBox accepts");
    }
    long requested = o.size("size");
    if (requested <= 0) {
      throw new InvalidOptionException("Option 'size': " + requested
          + " is not allowed; a vdi image needs at least one byte (VirtualBox cannot open "
          + "one of 0 bytes, though blockkit and qemu-img can)");
    }
    long max = Math.min(VdiHeader.MAX_DISK_SIZE, VdiHeader.MAX_BLOCKS * blockSize);
    if (requested > max) {
      throw new InvalidOptionException("Option 'size': " + requested + " bytes is too large; the "
          + "largest vdi image with " + blockSize + "-byte blocks is " + max + " bytes");
    }
    long size = (requested + VdiHeader.SECTOR_SIZE - 1) & -(long) VdiHeader.SECTOR_SIZE;
    String prealloc = o.string("preallocation");
    if (o.bool("static")) {
      if (o.isSet("preallocation") && prealloc.equals("off")) {
        throw new InvalidOptionException("Options 'static=on' and 'preallocation=off' "
            + "contradict each other");
      }
      if (prealloc.equals("off")) {
        prealloc = "metadata";
      }
    }
    boolean fixed = !prealloc.equals("off");
    byte[] comment = o.string("comment").getBytes(StandardCharsets.UTF_8);
    if (comment.length >= VdiHeader.COMMENT_SIZE || o.string("comment").indexOf('\0') >= 0) {
      throw new InvalidOptionException("Option 'comment': " + comment.length + " bytes is too "
          + "long; at most 255 bytes of UTF-8 without NUL characters fit in the header");
    }
    UUID image = o.uuid("uuid").orElseGet(UUID::randomUUID);
    if (image.getMostSignificantBits() == 0 && image.getLeastSignificantBits() == 0) {
      throw new InvalidOptionException("Option 'uuid': the null UUID is not allowed (VirtualBox "
          + "rejects images whose UUID is null)");
    }
    long blocks = (size + blockSize - 1) / blockSize;
    long mapOffset = CREATE_MAP_OFFSET;
    long dataOffset = (mapOffset + 4 * blocks + CREATE_DATA_ALIGNMENT - 1)
        & -(long) CREATE_DATA_ALIGNMENT;

    ByteBuffer h = ByteBuffer.allocate(CREATE_MAP_OFFSET).order(ByteOrder.LITTLE_ENDIAN);
    h.put(0, PRE_HEADER_TEXT.getBytes(StandardCharsets.US_ASCII));
    h.putInt(VdiHeader.SIGNATURE_OFFSET, (int) VdiHeader.SIGNATURE);
    h.putInt(VdiHeader.VERSION_OFFSET, VdiHeader.VERSION_1_1);
    h.putInt(72, VdiHeader.V1_PLUS_HEADER_SIZE);
    h.putInt(76, fixed ? VdiHeader.TYPE_FIXED : VdiHeader.TYPE_NORMAL);
    h.putInt(80, 0);
    h.put(84, comment);
    h.putInt(340, (int) mapOffset);
    h.putInt(344, (int) dataOffset);
    h.putInt(360, VdiHeader.SECTOR_SIZE);
    h.putLong(368, size);
    h.putInt(376, (int) blockSize);
    h.putInt(380, 0);
    h.putInt(384, (int) blocks);
    h.putInt(388, fixed ? (int) blocks : 0);
    VdiHeader.putUuid(h, 392, image);
    VdiHeader.putUuid(h, 408, UUID.randomUUID());
    h.putInt(468, VdiHeader.SECTOR_SIZE);
    file.write(0, h);

    // The map, then zero padding up to the data area, written in bounded chunks.
    int chunkEntries = 1 << 18;
    for (long first = 0; first < blocks; first += chunkEntries) {
      int n = (int) Math.min(chunkEntries, blocks - first);
      ByteBuffer m = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        m.putInt(fixed ? (int) (first + i) : BlockMap.FREE);
      }
      m.flip();
      file.write(mapOffset + 4 * first, m);
    }
    long mapEnd = mapOffset + 4 * blocks;
    if (dataOffset > mapEnd) {
      file.write(mapEnd, ByteBuffer.allocate((int) (dataOffset - mapEnd)));
    }
    if (fixed) {
      long end = dataOffset + blocks * blockSize;
      if (prealloc.equals("full")) {
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(blockSize, 1 << 20));
        for (long pos = dataOffset; pos < end; pos += zeros.capacity()) {
          zeros.clear();
          file.write(pos, zeros);
        }
      } else if (file.capabilities().contains(Capability.RESIZE)) {
        file.truncate(end);
      } else {
        file.writeZeroes(end - 1, 1);
      }
    }
  }
}
