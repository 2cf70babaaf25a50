package io.blockkit.vpc;

import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.RelatedImages;
import io.blockkit.api.error.BackingChainException;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.ImageAccessException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Finds and opens a differencing VHD's parent through the registry: the names its locators
 * record are tried relative one first (W2ru, then W2ku, Wi2r, Wi2k, MacX, then the header's
 * unicode name), the next one only when a name leads to no file; then the parent's identity is
 * checked against what the child recorded when it was made.
 */
final class ParentLink {
  /** The opened parent (null when the user dropped it) and the name the image records. */
  record Opened(BlockDevice parent, BackingLink link) {}

  private static final UUID NIL = new UUID(0, 0);

  private ParentLink() {}

  static Opened open(OpenRequest request, VpcFile f) throws IOException {
    RelatedImages related = request.related();
    String format = f.parentFormat != null ? f.parentFormat : VpcDriver.NAME;
    List<VpcFile.ParentName> names = distinct(f.parentNames);
    if (related.backingOverridden()) {
      String first = names.isEmpty() ? null : names.get(0).name();
      Optional<BlockDevice> p = related.openBacking(first, format);
      BackingLink link = first == null ? null
          : new BackingLink(first, related.resolve(first), format);
      if (p.isPresent()) {
        checkIdentity(request, f, p.get(), true);
      }
      return new Opened(p.orElse(null), link);
    }
    if (names.isEmpty()) {
      throw new CorruptImageException(request.location(), "the differencing VHD names no parent: "
          + "none of its parent locators holds a readable name and header.parent_name is empty "
          + "(name one with backing.file.filename=...)");
    }
    BackingChainException first = null;
    List<String> tried = new ArrayList<>();
    for (VpcFile.ParentName n : names) {
      Optional<BlockDevice> p;
      try {
        p = related.openBacking(n.name(), format);
      } catch (BackingChainException e) {
        if (!isMissing(e)) {
          throw e;
        }
        first = first == null ? e : first;
        tried.add("'" + n.name() + "' (" + n.source() + ")");
        continue;
      }
      BackingLink link = new BackingLink(n.name(), related.resolve(n.name()), format);
      if (p.isPresent()) {
        checkIdentity(request, f, p.get(), false);
      }
      return new Opened(p.orElse(null), link);
    }
    throw new BackingChainException(first.chain(), "Could not find the parent of differencing "
        + "VHD '" + request.location() + "': no file under any name it records: "
        + String.join(", ", tried), first);
  }

  private static List<VpcFile.ParentName> distinct(List<VpcFile.ParentName> names) {
    Set<String> seen = new LinkedHashSet<>();
    List<VpcFile.ParentName> out = new ArrayList<>();
    for (VpcFile.ParentName n : names) {
      if (seen.add(n.name())) {
        out.add(n);
      }
    }
    return out;
  }

  /** True when the backing failed to open only because no file has that name. */
  private static boolean isMissing(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ImageAccessException a
          && a.reason() == ImageAccessException.Reason.NOT_FOUND) {
        return true;
      }
    }
    return false;
  }

  /**
   * A VHD parent must be the disk the child was made over: its unique id must be the one the
   * child's header records (refused otherwise, unless the user named the parent), and a
   * different time stamp is reported. Parents that are not VHDs have no identity to compare.
   */
  private static void checkIdentity(OpenRequest request, VpcFile f, BlockDevice parent,
      boolean userNamed) throws IOException {
    UUID expected = f.header.parentId();
    if (!parent.driver().name().equals(VpcDriver.NAME) || expected.equals(NIL)) {
      return;
    }
    Map<String, Object> facts = parent.info().formatSpecific();
    Object id = facts.get("unique-id");
    String where = "differencing VHD '" + request.location() + "' (header.parent_unique_id at "
        + "offset " + (f.headerOffset + 40) + ")";
    if (!Objects.equals(expected.toString(), id)) {
      String problem = "Parent '" + parent.location() + "' has unique id " + id + ", but " + where
          + " was made over a disk with unique id " + expected + ": the parent was replaced or "
          + "is another disk, and the child's blocks would be laid over the wrong data";
      if (userNamed) {
        request.warnings().accept("WARNING: " + problem + " (opened anyway: the parent was named "
            + "explicitly)");
        return;
      }
      closeQuietly(parent);
      throw new BackingChainException(List.of(request.location(), parent.location()), problem
          + " (name the parent explicitly with backing.file.filename=... to open it anyway)",
          null);
    }
    long stamp = f.header.parentTimestamp();
    Object parentStamp = facts.get("timestamp");
    String expectedStamp = java.time.Instant.ofEpochSecond(Footer.VHD_EPOCH + stamp).toString();
    if (stamp != 0 && !expectedStamp.equals(parentStamp)) {
      request.warnings().accept("WARNING: parent '" + parent.location() + "' of " + where
          + " has time stamp " + parentStamp + ", the child recorded " + expectedStamp
          + " (header.parent_timestamp); the parent may have been modified since");
    }
  }

  private static void closeQuietly(BlockDevice d) {
    try {
      d.close();
    } catch (IOException ignored) {
      // the identity error matters more
    }
  }
}
