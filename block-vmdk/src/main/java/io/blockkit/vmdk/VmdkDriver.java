package io.blockkit.vmdk;

import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.RelatedImages;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

/** The {@code vmdk} format driver: VMware virtual disks. Stateless; see the package documentation. */
public final class VmdkDriver implements BlockDriver {
  /** The driver's name. */
  public static final String NAME = "vmdk";
  /** Where a child records a parent that is not a VMDK (VMDK itself has no field for it). */
  static final String PARENT_FORMAT_KEY = "ddb.blockkit.parentFormat";

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
    return "VMware virtual disk (VMDK): monolithic and split, sparse and flat, "
        + "stream-optimized; vmfs and vmfsSparse read";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.CREATE, DriverFeature.WRITE, DriverFeature.BACKING,
        DriverFeature.CHECK, DriverFeature.REPAIR);
  }

  /**
   * QEMU's rule, a little stricter: 100 for the "KDMV" or "COWD" magic in a file of at least one
   * 512-byte sector, or for a text descriptor whose first line that is neither a comment nor
   * blank is {@code version=1}, {@code 2} or {@code 3}, followed by a {@code createType} line,
   * within the first 512 bytes. (QEMU claims the version line alone; blockkit also wants the line
   * that says what the descriptor describes, so that a cut-off descriptor is not claimed.)
   */
  @Override
  public int probe(ProbeInput input) {
    if (input.headHas(0, "KDMV") || input.headHas(0, "COWD")) {
      return input.available() >= SparseHeader.SECTOR ? PROBE_EXACT : 0;
    }
    ByteBuffer h = input.head();
    int n = Math.min(h.limit(), 512);
    byte[] window = new byte[n];
    h.get(0, window);
    String text = new String(window, StandardCharsets.ISO_8859_1);
    int p = 0;
    while (p < n) {
      int eol = text.indexOf('\n', p);
      if (eol < 0) {
        return 0;
      }
      String line = text.substring(p, eol);
      String bare = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
      if (line.startsWith("#") || !bare.isEmpty() && bare.chars().allMatch(c -> c == ' ')) {
        p = eol + 1;
        continue;
      }
      if (!bare.matches("version=[123]")) {
        return 0;
      }
      for (String next : text.substring(eol + 1).split("\n", -1)) {
        if (next.matches("(?s)[ \t]*createType[ \t]*=.*")) {
          return PROBE_EXACT;
        }
      }
      return 0;
    }
    return 0;
  }

  @Override
  public List<OptionSpec> createOptions() {
    return VmdkCreator.OPTIONS;
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    if (request.child() == null) {
      throw new InvalidOptionException("The vmdk format needs a child node (a file) to open");
    }
    VmdkOpener parts = new VmdkOpener(request);
    BlockDevice backing = null;
    try {
      parts.open();
      Descriptor d = parts.descriptor;
      RelatedImages related = request.related();
      String hint = d.parentFileNameHint;
      String format = d.ddb.get(PARENT_FORMAT_KEY);
      if (hint != null || related.backingOverridden()) {
        backing = related.openBacking(hint, format).orElse(null);
      }
      BackingLink link = hint == null ? null
          : new BackingLink(hint, related.resolve(hint), format);
      String problem = null;
      if (backing != null && !related.backingOverridden()) {
        problem = cidProblem(request.location(), d, hint, backing);
        if (problem != null) {
          request.warnings().accept("WARNING: " + problem);
        }
      }
      VmdkImage image = new VmdkImage(this, request.location(), request.readOnly(),
          request.child(), backing, parts, link, problem);
      backing = null;
      return image;
    } finally {
      parts.close();
      if (backing != null) {
        backing.close();
      }
    }
  }

  /**
   * The CID rule: a VMDK parent must still have the CID the child recorded when it was made;
   * otherwise the parent changed since, and reading through it would mix old and new content.
   */
  private static String cidProblem(String location, Descriptor d, String hint,
      BlockDevice backing) throws IOException {
    if (!backing.driver().name().equals(NAME)) {
      return null; // only VMDK parents carry a CID
    }
    Object cid = backing.info().formatSpecific().get("cid");
    if (cid instanceof Number n && n.longValue() != Integer.toUnsignedLong(d.parentCid)) {
      return "'" + location + "' was made from a different state of its parent '" + hint
          + "': its parentCID is " + Descriptor.hex(d.parentCid) + " but the parent's CID is "
          + String.format("%08x", n.longValue()) + " (the parent was written since). Reads of "
          + "ranges the child does not hold fail, as in VMware and QEMU; to read through the "
          + "parent anyway, name it with backing.file.filename=...";
    }
    return null;
  }

  @Override
  public void create(CreateRequest request) throws IOException {
    new VmdkCreator(request).create();
  }
}
