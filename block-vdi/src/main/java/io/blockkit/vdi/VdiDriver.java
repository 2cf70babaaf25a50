package io.blockkit.vdi;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.Measurement;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;

/** The {@code vdi} format driver: VirtualBox Disk Images. Stateless; see the package documentation. */
public final class VdiDriver implements BlockDriver {
  /** The driver's name. */
  public static final String NAME = "vdi";


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
    return "VirtualBox Disk Image (VDI): dynamic, fixed and differencing images, versions 0.2 "
        + "and 1.x";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.CREATE, DriverFeature.WRITE, DriverFeature.CHECK,
        DriverFeature.REPAIR, DriverFeature.BACKING, DriverFeature.RESIZE, DriverFeature.AMEND,
        DriverFeature.COMPACT, DriverFeature.MEASURE);
  }

  int mapPageShift() {
    return mapPageShift;
  }

  int mapCachePages() {
    return mapCachePages;
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
        OptionSpec.size("size", null, "Virtual disk size (rounded up to 512 bytes; a "
            + "differencing image takes its parent's by default)"),
        OptionSpec.bool("static", false,
            "Create a fixed (preallocated) image, like qemu-img's static=on "
                + "(same as preallocation=metadata)"),
        OptionSpec.choice("preallocation", "off", "off: dynamic image; metadata: fixed image "
            + "with a sparse data area; full: fixed image with zeros written", "off", "metadata",
            "full"),
        OptionSpec.size("block_size", "1M", "Block size: a power of two from 512K to 8M "
            + "(QEMU opens only 1M)"),
        OptionSpec.uuid("uuid", "Image UUID (default: random)"),
        OptionSpec.string("comment", "", "Comment stored in the header (at most 255 bytes UTF-8)"),
        OptionSpec.string("backing_file", null, "Parent image: creates a differencing image "
            + "that records the parent's UUID (VirtualBox finds parents by UUID, not by name)"),
        OptionSpec.string("backing_fmt", null, "Format of the parent: vdi (the only one "
            + "allowed)"));
  }

  /** What amend changes: the image and parent UUIDs and the comment, each one header write. */
  @Override
  public List<OptionSpec> amendOptions() {
    return List.of(
        OptionSpec.uuid("uuid", "Image UUID (VBoxManage internalcommands sethduuid)"),
        OptionSpec.uuid("parent_uuid", "Parent UUID (VBoxManage internalcommands "
            + "sethdparentuuid)"),
        OptionSpec.string("comment", null, "Comment stored in the header (at most 255 bytes "
            + "UTF-8)"));
  }

  @Override
  public List<OptionSpec> openOptions() {
    return List.of(OptionSpec.string(VdiParent.SEARCH_OPTION, null, "A VDI file or a folder to "
        + "search first for a differencing image's parent (matched by UUID); the image's own "
        + "folder is searched after it"));
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
    if (!request.readOnly()) {
      nextFree = firstUnusedBlock(header, map, length);
    }
    if (!header.isDifferencing()) {
      return new VdiImage(this, location, request.readOnly(), file, header, map, nextFree, length,
          null, null);
    }
    VdiParent.Opened parent = VdiParent.open(request, header);
    try {
      return new VdiImage(this, location, request.readOnly(), file, header, map, nextFree, length,
          parent.backing(), parent.parent());
    } catch (RuntimeException e) {
      if (parent.backing() != null) {
        parent.backing().close();
      }
      throw e;
    }
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
    VdiCreator.create(request);
  }

  /**
   * {@code qemu-img measure -O vdi} (which qemu 7.2 itself refuses for vdi), from the layout
   * create writes: {@code fully-allocated} is the header and map plus every block; {@code
   * required} counts only the blocks of {@code source} whose chain holds data (a dynamic image's
   * blocks of zeros are never allocated), or every block for a fixed image; without a source,
   * the header and map alone.
   */
  @Override
  public Measurement measure(Options options, BlockDevice source) throws IOException {
    VdiCreator.Layout l = VdiCreator.layout(options, source == null ? null : source.size());
    long full = l.fileSize(l.blocks());
    if (l.fixed()) {
      return new Measurement(full, full);
    }
    if (source == null) {
      return new Measurement(l.dataOffset(), full);
    }
    long used = 0;
    long size = source.size();
    for (long block = 0; block * l.blockSize() < size; block++) {
      long start = block * l.blockSize();
      long end = Math.min(size, start + l.blockSize());
      for (long pos = start; pos < end; ) {
        BackingChain.Status s = BackingChain.status(source, pos, end - pos);
        if (s.extent().data() && !s.extent().zero()) {
          used++;
          break;
        }
        pos = s.extent().end();
      }
    }
    return new Measurement(l.fileSize(used), full);
  }
}
