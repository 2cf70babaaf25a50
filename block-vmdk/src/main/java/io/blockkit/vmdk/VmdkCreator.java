package io.blockkit.vmdk;

import static io.blockkit.vmdk.SparseHeader.SECTOR;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Makes new images with qemu-img's options and layout: one sparse file with an embedded
 * descriptor (monolithicSparse, streamOptimized), or a text descriptor over extent files named
 * after it ({@code NAME-flat.vmdk}, {@code NAME-s001.vmdk}, {@code NAME-f001.vmdk}, 2 GiB each).
 */
final class VmdkCreator {
  static final String MONOLITHIC_SPARSE = "monolithicSparse";
  static final String MONOLITHIC_FLAT = "monolithicFlat";
  static final String SPLIT_SPARSE = "twoGbMaxExtentSparse";
  static final String SPLIT_FLAT = "twoGbMaxExtentFlat";
  static final String STREAM = "streamOptimized";
  static final long GRAIN_SECTORS = 128;
  static final int GTES = 512;
  static final long DESC_SECTORS = 20;
  static final long SPLIT_SECTORS = 4L << 20;
  static final long MAX_SPARSE_SECTORS = (0xffffffffL - (1 << 20)) / 2;

  static final List<OptionSpec> OPTIONS = List.of(
      OptionSpec.size("size", null, "Virtual disk size (rounded up to 512 bytes)"),
      OptionSpec.string("backing_file", null, "File name of a base image"),
      OptionSpec.string("backing_fmt", null, "Format of the base image (VMware and QEMU "
          + "chain only vmdk)"),
      OptionSpec.choice("adapter_type", "ide", "Virtual adapter type", "ide", "lsilogic",
          "buslogic", "legacyESX"),
      OptionSpec.bool("compat6", false, "VMDK version 6 image (virtual hardware version 6)"),
      OptionSpec.string("hwversion", null, "VMDK hardware version (default 4)"),
      OptionSpec.string("toolsversion", "2147483647", "VMware guest tools version"),
      OptionSpec.choice("subformat", MONOLITHIC_SPARSE, "VMDK layout", MONOLITHIC_SPARSE,
          MONOLITHIC_FLAT, SPLIT_SPARSE, SPLIT_FLAT, STREAM),
      OptionSpec.bool("zeroed_grain", false, "Enable efficient zero writes using the "
          + "zeroed-grain GTE feature"));

  private static final SecureRandom RANDOM = new SecureRandom();

  private final CreateRequest request;
  private final Options o;

  VmdkCreator(CreateRequest request) {
    this.request = request;
    this.o = request.options();
  }

  void create() throws IOException {
    String subformat = o.string("subformat");
    boolean flat = subformat.equals(MONOLITHIC_FLAT) || subformat.equals(SPLIT_FLAT);
    boolean zeroed = o.bool("zeroed_grain");
    String backingFile = o.has("backing_file") ? o.string("backing_file") : null;
    String backingFmt = o.has("backing_fmt") ? o.string("backing_fmt") : null;
    if (flat && backingFile != null) {
      throw new InvalidOptionException("A " + subformat + " VMDK cannot have a backing file");
    }
    if (flat && zeroed) {
      throw new InvalidOptionException("zeroed_grain is only for sparse VMDK subformats, not "
          + subformat);
    }
    if (subformat.equals(STREAM) && backingFile != null) {
      throw new InvalidOptionException("A streamOptimized VMDK cannot have a backing file");
    }
    if (o.bool("compat6") && o.has("hwversion")) {
      throw new InvalidOptionException("compat6 cannot be enabled with hwversion set");
    }
    Long size = o.has("size") ? o.size("size") : null;
    int parentCid = Descriptor.NO_PARENT;
    if (backingFile != null) {
      try (BlockDevice backing = request.related().openBacking(backingFile, backingFmt)
          .orElseThrow(() -> new InvalidOptionException("the backing file was dropped"))) {
        size = size != null ? size : backing.size();
        if (backing.driver().name().equals(VmdkDriver.NAME)) {
          Object cid = backing.info().formatSpecific().get("cid");
          parentCid = cid instanceof Number n ? (int) n.longValue() : parentCid;
        }
      }
    }
    if (size == null) {
      throw new InvalidOptionException("Image creation needs a size parameter");
    }
    long sectors = (size + SECTOR - 1) / SECTOR;
    if (!flat && sectors > (subformat.equals(SPLIT_SPARSE) ? Long.MAX_VALUE / SECTOR / 4
        : MAX_SPARSE_SECTORS)) {
      throw new InvalidOptionException("size " + size + " is too large for a sparse VMDK extent "
          + "(grain offsets are 32-bit sectors: at most " + MAX_SPARSE_SECTORS * SECTOR
          + " bytes per extent)");
    }
    Map<String, String> ddb = ddb(sectors, backingFmt);
    int cid;
    do {
      cid = RANDOM.nextInt();
    } while (cid == Descriptor.NO_PARENT);
    String hint = backingFile;
    String base = baseName(request.location());
    switch (subformat) {
      case MONOLITHIC_SPARSE, STREAM -> {
        boolean stream = subformat.equals(STREAM);
        String text = Descriptor.render(cid, parentCid, subformat, hint,
            List.of(new ExtentLine("RW", sectors, "SPARSE", base + ".vmdk", 0)), ddb, false);
        writeSparse(request.child(), sectors, text, stream, zeroed);
      }
      case SPLIT_SPARSE, MONOLITHIC_FLAT, SPLIT_FLAT -> {
        List<ExtentLine> lines = new ArrayList<>();
        long left = sectors;
        int n = 0;
        do {
          n++;
          long part = subformat.equals(MONOLITHIC_FLAT) ? left : Math.min(left, SPLIT_SECTORS);
          String name = subformat.equals(MONOLITHIC_FLAT) ? base + "-flat.vmdk"
              : String.format("%s-%s%03d.vmdk", base, flat ? "f" : "s", n);
          try (BlockDevice f = request.related().createFile(name)) {
            if (flat) {
              extend(f, part * SECTOR);
            } else {
              writeSparse(f, part, "", false, zeroed);
            }
            f.flush();
          }
          lines.add(new ExtentLine("RW", part, flat ? "FLAT" : "SPARSE", name, 0));
          left -= part;
        } while (left > 0);
        String text = Descriptor.render(cid, parentCid, subformat, hint, lines, ddb, true);
        request.child().write(0, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
      }
      default -> throw new InvalidOptionException("Unknown subformat " + subformat);
    }
  }

  /** The disk database VMware writes: hardware version, geometry, adapter, tools version. */
  private Map<String, String> ddb(long sectors, String backingFmt) {
    String adapter = o.string("adapter_type");
    long heads = adapter.equals("ide") ? 16 : 255;
    Map<String, String> ddb = new LinkedHashMap<>();
    String hw = o.has("hwversion") ? o.string("hwversion") : o.bool("compat6") ? "6" : "4";
    ddb.put("ddb.virtualHWVersion", hw);
    ddb.put("ddb.geometry.cylinders", Long.toString(sectors / (heads * 63)));
    ddb.put("ddb.geometry.heads", Long.toString(heads));
    ddb.put("ddb.geometry.sectors", "63");
    ddb.put("ddb.adapterType", adapter);
    ddb.put("ddb.toolsVersion", o.string("toolsversion"));
    if (backingFmt != null && !backingFmt.equals(VmdkDriver.NAME)) {
      ddb.put(VmdkDriver.PARENT_FORMAT_KEY, backingFmt);
    }
    return ddb;
  }

  /**
   * A new image's hidden name while blockkit's create and convert build it beside its target
   * ({@code .NAME.blockkit-RANDOM.tmp}, see the README): only the descriptor is moved into place
   * at the end, so its extents are named after NAME from the start.
   */
  private static final java.util.regex.Pattern STAGED =
      java.util.regex.Pattern.compile("\\.(.+)\\.blockkit-[0-9a-z]+\\.tmp");

  /** The image's file name without folder, protocol or {@code .vmdk}, for its extents' names. */
  static String baseName(String location) {
    String name = location.substring(location.lastIndexOf('/') + 1);
    int colon = name.indexOf(':');
    if (colon >= 0 && location.indexOf('/') < 0) {
      name = name.substring(colon + 1);
    }
    java.util.regex.Matcher staged = STAGED.matcher(name);
    if (staged.matches()) {
      name = staged.group(1);
    }
    int dot = name.lastIndexOf('.');
    return dot > 0 ? name.substring(0, dot) : name;
  }

  /**
   * Writes an empty sparse extent of {@code sectors}: the header, the descriptor area, and as
   * qemu-img does every grain table preallocated, redundant ones first; a stream gets its
   * closing structures instead.
   */
  static void writeSparse(BlockDevice file, long sectors, String descriptor, boolean stream,
      boolean zeroed) throws IOException {
    byte[] text = descriptor.getBytes(StandardCharsets.UTF_8);
    if (text.length > DESC_SECTORS * SECTOR) {
      throw new InvalidOptionException("The descriptor (" + text.length + " bytes) does not fit "
          + "the " + DESC_SECTORS * SECTOR + "-byte area of a sparse extent");
    }
    long perGt = GTES * GRAIN_SECTORS;
    long entries = (sectors + perGt - 1) / perGt;
    long gdSectors = (4 * entries + SECTOR - 1) / SECTOR;
    long gtSectors = 4L * GTES / SECTOR;
    ByteBuffer desc = ByteBuffer.allocate((int) (DESC_SECTORS * SECTOR)).put(text).clear();
    if (stream) {
      int flags = SparseHeader.FLAG_NEWLINE_TEST | SparseHeader.FLAG_COMPRESSED
          | SparseHeader.FLAG_MARKERS | (zeroed ? SparseHeader.FLAG_ZEROED_GRAIN : 0);
      SparseHeader h = new SparseHeader(3, flags, sectors, GRAIN_SECTORS, 1, DESC_SECTORS, GTES,
          0, SparseHeader.GD_AT_END, GRAIN_SECTORS, false, SparseHeader.COMPRESSION_DEFLATE);
      file.write(0, h.toBytes());
      file.write(SECTOR, desc);
      StreamExtent.writeEmpty(file, h);
      return;
    }
    long rgd = 1 + DESC_SECTORS;
    long rgts = rgd + gdSectors;
    long gd = rgts + entries * gtSectors;
    long gts = gd + gdSectors;
    long overhead = (gts + entries * gtSectors + GRAIN_SECTORS - 1) / GRAIN_SECTORS
        * GRAIN_SECTORS;
    int flags = SparseHeader.FLAG_NEWLINE_TEST | SparseHeader.FLAG_REDUNDANT_GD
        | (zeroed ? SparseHeader.FLAG_ZEROED_GRAIN : 0);
    SparseHeader h = new SparseHeader(1, flags, sectors, GRAIN_SECTORS, 1, DESC_SECTORS, GTES,
        rgd, gd, overhead, false, SparseHeader.COMPRESSION_NONE);
    file.write(0, h.toBytes());
    file.write(SECTOR, desc);
    file.write(rgd * SECTOR, directory(entries, rgts, gtSectors));
    file.write(gd * SECTOR, directory(entries, gts, gtSectors));
    extend(file, overhead * SECTOR);
  }

  private static ByteBuffer directory(long entries, long first, long step) {
    ByteBuffer b = ByteBuffer.allocate((int) (4 * entries)).order(ByteOrder.LITTLE_ENDIAN);
    for (long i = 0; i < entries; i++) {
      b.putInt((int) (first + i * step));
    }
    return b.clear();
  }

  /** Makes {@code file} {@code length} bytes long, reading zeros past what was written. */
  private static void extend(BlockDevice file, long length) throws IOException {
    if (file.size() >= length) {
      return;
    }
    if (file.capabilities().contains(Capability.RESIZE)) {
      file.truncate(length);
    } else {
      file.write(length - 1, ByteBuffer.allocate(1));
    }
  }
}
