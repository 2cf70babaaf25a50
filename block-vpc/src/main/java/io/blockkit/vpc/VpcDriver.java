package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;

/**
 * The {@code vpc} format driver (alias {@code vhd}): Microsoft Virtual Hard Disk images, fixed,
 * dynamic and differencing. Stateless; see the package documentation.
 */
public final class VpcDriver implements BlockDriver {
  /** The driver's name, as qemu-img calls the format. */
  public static final String NAME = "vpc";
  /** The name most users know the format by. */
  public static final String ALIAS = "vhd";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public List<String> aliases() {
    return List.of(ALIAS);
  }

  @Override
  public DriverKind kind() {
    return DriverKind.FORMAT;
  }

  @Override
  public String description() {
    return "Microsoft Virtual Hard Disk (VHD; alias vhd): fixed, dynamic and differencing images";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.CREATE, DriverFeature.WRITE, DriverFeature.BACKING,
        DriverFeature.CHECK, DriverFeature.REPAIR);
  }

  /**
   * 100 for a dynamic or differencing image (a whole 512-byte sector starting with "conectix",
   * as qemu probes, but never a shorter cut of one) and for a fixed image recognised by its
   * footer: the last 512 bytes start with "conectix", their checksum is right, the type is fixed
   * and current_size is exactly the bytes before the footer. A raw disk that merely ends with
   * "conectix" fails the checksum or the size and stays raw.
   */
  @Override
  public int probe(ProbeInput input) {
    if (input.available() >= Footer.SIZE && input.headHas(0, Footer.COOKIE)) {
      return PROBE_EXACT;
    }
    ByteBuffer tail = input.footer(Footer.SIZE);
    if (tail == null) {
      return 0;
    }
    Footer f = Footer.read(tail);
    return f.isValid() && f.type() == Footer.TYPE_FIXED
        && f.currentSize() == input.length() - Footer.SIZE ? PROBE_EXACT : 0;
  }

  @Override
  public List<OptionSpec> openOptions() {
    return List.of(new OptionSpec("force_size_calc", io.blockkit.api.options.OptionType.ENUM,
        null, "Where the disk size comes from: chs (the geometry) or current_size; default: "
            + "qemu's rule by creator application (current_size for Hyper-V, Disk2vhd, XenServer "
            + "and qemu's force_size images, the geometry otherwise)",
        List.of(VpcFile.CALC_CHS, VpcFile.CALC_CURRENT_SIZE)));
  }

  @Override
  public List<OptionSpec> createOptions() {
    return VpcCreator.OPTIONS;
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    BlockDevice file = request.child();
    if (file == null) {
      throw new InvalidOptionException("The vpc format needs a child node (a file) to open");
    }
    String calc = (String) request.options().get("force_size_calc").orElse(null);
    VpcFile layout = VpcFile.read(request.location(), file, calc, request.warnings());
    if (!layout.isDifferencing()) {
      return new VpcImage(this, request, layout, null, null);
    }
    ParentLink.Opened parent = ParentLink.open(request, layout);
    try {
      return new VpcImage(this, request, layout, parent.parent(), parent.link());
    } catch (IOException | RuntimeException e) {
      if (parent.parent() != null) {
        try {
          parent.parent().close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  @Override
  public void create(CreateRequest request) throws IOException {
    VpcCreator.create(request);
  }
}
