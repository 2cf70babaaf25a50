package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Creates VHD images as {@code qemu-img create -f vpc} does (same sizes, geometry, creator fields
 * and layout), plus blockkit's differencing images and the Azure option. See the package
 * documentation for the rules.
 */
final class VpcCreator {
  static final String SIZE = "size";
  static final String SUBFORMAT = "subformat";
  static final String FORCE_SIZE = "force_size";
  static final String AZURE = "azure";
  static final String BLOCK_SIZE = "block_size";
  static final String BACKING_FILE = "backing_file";
  static final String BACKING_FMT = "backing_fmt";

  static final List<OptionSpec> OPTIONS = List.of(
      OptionSpec.size(SIZE, null, "Virtual disk size, rounded up to a CHS geometry as qemu-img "
          + "does unless force_size (default for a differencing image: the parent's, kept "
          + "exactly)"),
      OptionSpec.choice(SUBFORMAT, "dynamic", "dynamic: blocks are allocated as written; fixed: "
          + "all the data, then the footer", "dynamic", "fixed"),
      OptionSpec.bool(FORCE_SIZE, false, "Keep the requested size exactly (creator 'qem2', the "
          + "maximum geometry) instead of rounding it up to a CHS geometry"),
      OptionSpec.bool(AZURE, false, "Azure-ready disk: fixed, the size rounded up to a whole "
          + "MiB and kept exactly, creator fields as Hyper-V writes them"),
      OptionSpec.size(BLOCK_SIZE, "2M", "Block size of a dynamic or differencing image: a power "
          + "of two from 512 bytes to 256 MiB (Hyper-V makes 512K and 2M)"),
      OptionSpec.string(BACKING_FILE, null, "Parent image: makes a differencing VHD (name "
          + "relative to this image's folder)"),
      OptionSpec.string(BACKING_FMT, null, "Format of the parent (default: vpc)"));

  /** qemu-img's creator version (Virtual PC 2007, 5.3) and Hyper-V's (10.0). */
  static final int QEMU_VERSION = 0x00050003;
  static final int HYPERV_VERSION = 0x000a0000;
  static final long MIB = 1 << 20;
  /** Where qemu and Hyper-V put the header and the BAT. */
  static final long HEADER_OFFSET = 512;
  static final long BAT_OFFSET = HEADER_OFFSET + DynamicHeader.SIZE;

  private VpcCreator() {}

  /** What the parent of a new differencing image tells it. */
  private record Parent(long size, String format, UUID id, long timestamp) {}

  /** The footer fields chosen from the options. */
  private record Sizing(long size, Geometry geometry, String creator, int creatorVersion) {}

  static void create(CreateRequest request) throws IOException {
    BlockDevice file = request.child();
    if (file == null) {
      throw new InvalidOptionException("The vpc format needs a child node (a file) to create in");
    }
    Options o = request.options();
    String backingName = o.has(BACKING_FILE) ? o.string(BACKING_FILE) : null;
    boolean azure = o.bool(AZURE);
    boolean fixed = o.string(SUBFORMAT).equals("fixed") || azure;
    refuseContradictions(o, azure, fixed, backingName);
    long blockSize = o.size(BLOCK_SIZE);
    if (Long.bitCount(blockSize) != 1 || blockSize < VpcFile.MIN_BLOCK_SIZE
        || blockSize > VpcFile.MAX_BLOCK_SIZE) {
      throw new InvalidOptionException("Option 'block_size': " + blockSize + " is not allowed; "
          + "expected a power of two from 512 bytes to 256 MiB");
    }
    Parent parent = backingName == null ? null
        : parent(request, backingName, o.has(BACKING_FMT) ? o.string(BACKING_FMT) : null);
    if (!o.has(SIZE) && parent == null) {
      throw new InvalidOptionException("Option 'size' is required to create a vpc image");
    }
    long requested = o.has(SIZE) ? o.size(SIZE) : parent.size();
    if (requested > VpcFile.MAX_SIZE) {
      throw new InvalidOptionException("Option 'size': " + requested + " bytes is too large; "
          + "the largest VHD is 2040 GiB (" + VpcFile.MAX_SIZE + " bytes)");
    }
    Sizing s = sizing(requested, azure, o.bool(FORCE_SIZE), parent != null);
    long timestamp = Footer.timestampOf(Instant.now());
    int type = fixed ? Footer.TYPE_FIXED
        : parent != null ? Footer.TYPE_DIFFERENCING : Footer.TYPE_DYNAMIC;
    Footer footer = Footer.of(new Footer.Fields(fixed ? Footer.NO_HEADER : HEADER_OFFSET,
        timestamp, s.creator(), s.creatorVersion(), "Wi2k", s.size(), s.geometry(), type,
        UUID.randomUUID()));
    if (fixed) {
      // The data area stays sparse: the footer written past it grows the file.
      file.write(s.size(), footer.encode());
      return;
    }
    long entries = (s.size() + blockSize - 1) / blockSize;
    if (entries > VpcFile.MAX_ENTRIES) {
      throw new InvalidOptionException("Option 'block_size': " + blockSize + " bytes gives "
          + entries + " blocks for " + s.size() + " bytes; at most " + VpcFile.MAX_ENTRIES
          + " are allowed, choose larger blocks");
    }
    long batBytes = (4 * entries + VpcFile.SECTOR - 1) / VpcFile.SECTOR * VpcFile.SECTOR;
    writeBat(file, batBytes);
    long end = BAT_OFFSET + batBytes;
    List<ParentLocator> locators = new ArrayList<>();
    if (parent != null) {
      for (Map.Entry<Integer, byte[]> l : locatorData(request, backingName, parent).entrySet()) {
        byte[] data = l.getValue();
        long space = (data.length + VpcFile.SECTOR - 1) / VpcFile.SECTOR * VpcFile.SECTOR;
        file.write(end, ByteBuffer.wrap(Arrays.copyOf(data, (int) space)));
        // The space in bytes, as Hyper-V writes it (the specification says sectors).
        locators.add(new ParentLocator(l.getKey(), space, data.length, end));
        end += space;
      }
    }
    DynamicHeader header = DynamicHeader.of(new DynamicHeader.Fields(BAT_OFFSET, entries,
        blockSize, parent == null ? null : parent.id(), parent == null ? 0 : parent.timestamp(),
        parent == null ? null : fileName(backingName), locators));
    file.write(HEADER_OFFSET, header.encode());
    file.write(end, footer.encode());
    file.write(0, footer.encode());
  }

  private static void refuseContradictions(Options o, boolean azure, boolean fixed,
      String backingName) throws InvalidOptionException {
    if (azure) {
      if (o.isSet(SUBFORMAT) && !o.string(SUBFORMAT).equals("fixed")) {
        throw new InvalidOptionException("Options 'azure=on' and 'subformat="
            + o.string(SUBFORMAT) + "' contradict each other: Azure takes fixed VHDs only");
      }
      if (o.isSet(FORCE_SIZE) && !o.bool(FORCE_SIZE)) {
        throw new InvalidOptionException("Options 'azure=on' and 'force_size=off' contradict "
            + "each other: an Azure disk keeps its size exactly");
      }
    }
    if (fixed && backingName != null) {
      throw new InvalidOptionException("Option 'backing_file' makes a differencing image, which "
          + "cannot be " + (azure ? "an Azure (fixed) disk" : "fixed"));
    }
    if (fixed && o.isSet(BLOCK_SIZE)) {
      throw new InvalidOptionException("Option 'block_size' applies to dynamic and differencing "
          + "images only; a fixed image has no blocks");
    }
  }

  /**
   * The size, geometry and creator: qemu-img's search for a geometry at least as large as the
   * request (the size grows to it; past the largest geometry the size stays as requested), or
   * the exact size with the maximum geometry for force_size (creator {@code qem2}); Azure's
   * whole MiB with the specification's geometry and Hyper-V's creator ({@code win }); a
   * differencing image keeps its size exactly, as its parent's must match.
   */
  private static Sizing sizing(long requested, boolean azure, boolean forceSize,
      boolean differencing) throws InvalidOptionException {
    long sectors = (requested + VpcFile.SECTOR - 1) / VpcFile.SECTOR;
    if (azure) {
      long size = (requested + MIB - 1) / MIB * MIB;
      if (size > VpcFile.MAX_SIZE) {
        throw new InvalidOptionException("Option 'size': " + size + " bytes (rounded up to a "
            + "whole MiB for Azure) is more than the largest VHD, 2040 GiB");
      }
      return new Sizing(size, Geometry.of(size / VpcFile.SECTOR), "win ", HYPERV_VERSION);
    }
    if (!forceSize) {
      Geometry g = Geometry.roundingUp(sectors);
      long size = g.isMax() ? sectors * VpcFile.SECTOR : g.sectors() * VpcFile.SECTOR;
      if (!differencing || size == sectors * VpcFile.SECTOR) {
        return new Sizing(size, g, "qemu", QEMU_VERSION);
      }
    }
    return new Sizing(sectors * VpcFile.SECTOR, Geometry.MAX, "qem2", QEMU_VERSION);
  }

  /** Opens the parent (proving it exists) and reads its size and identity. */
  private static Parent parent(CreateRequest request, String name, String format)
      throws IOException {
    try (BlockDevice p = request.related().openBacking(name, format).orElseThrow(
        () -> new InvalidOptionException("The backing file '" + name + "' was dropped"))) {
      String driver = p.driver().name();
      if (!driver.equals(VpcDriver.NAME)) {
        return new Parent(p.size(), driver, null, 0);
      }
      Map<String, Object> facts = p.info().formatSpecific();
      UUID id = UUID.fromString((String) facts.get("unique-id"));
      long stamp = Instant.parse((String) facts.get("timestamp")).getEpochSecond()
          - Footer.VHD_EPOCH;
      return new Parent(p.size(), driver, id, stamp);
    }
  }

  /**
   * The locators as Hyper-V writes them, relative name first: W2ru (relative, {@code .\name}),
   * W2ku (absolute) where the names can be worked out, and blockkit's format record for a parent
   * that is not a VHD.
   */
  private static Map<Integer, byte[]> locatorData(CreateRequest request, String backingName,
      Parent parent) {
    Map<Integer, byte[]> out = new java.util.LinkedHashMap<>();
    String resolved = request.related().resolve(backingName);
    String relative = relativeName(request.location(), backingName, resolved);
    if (relative != null) {
      out.put(ParentLocator.W2RU, utf16le(ParentLocator.windowsRelative(relative)));
    }
    String absolute = absoluteName(resolved);
    if (absolute != null) {
      out.put(ParentLocator.W2KU, utf16le(absolute));
    }
    if (!parent.format().equals(VpcDriver.NAME)) {
      out.put(ParentLocator.BKFM, parent.format().getBytes(StandardCharsets.US_ASCII));
    }
    return out;
  }

  private static byte[] utf16le(String s) {
    return s.getBytes(StandardCharsets.UTF_16LE);
  }

  /** A name with a protocol prefix ({@code memory:}, {@code nbd:}) is no host path. */
  private static boolean hasPrefix(String name) {
    return name.matches("[A-Za-z][A-Za-z0-9+.-]+:.*");
  }

  /** The parent's name relative to the child's folder, or null when it cannot be worked out. */
  private static String relativeName(String childLocation, String backingName, String resolved) {
    if (!backingName.startsWith("/") && !hasPrefix(backingName)) {
      return backingName;
    }
    if (hasPrefix(resolved) || hasPrefix(childLocation)) {
      return null;
    }
    try {
      Path folder = Path.of(childLocation).toAbsolutePath().normalize().getParent();
      return folder == null ? null
          : folder.relativize(Path.of(resolved).toAbsolutePath().normalize()).toString();
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** The parent's absolute host path, or null for names on other protocols. */
  private static String absoluteName(String resolved) {
    if (hasPrefix(resolved)) {
      return null;
    }
    try {
      return Path.of(resolved).toAbsolutePath().normalize().toString();
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static String fileName(String name) {
    String portable = ParentLocator.portable(name);
    return portable.substring(portable.lastIndexOf('/') + 1);
  }

  private static void writeBat(BlockDevice file, long batBytes) throws IOException {
    byte[] ones = new byte[(int) Math.min(batBytes, 1 << 20)];
    Arrays.fill(ones, (byte) 0xff);
    for (long done = 0; done < batBytes; done += ones.length) {
      int n = (int) Math.min(ones.length, batBytes - done);
      file.write(BAT_OFFSET + done, ByteBuffer.wrap(ones, 0, n));
    }
  }
}
