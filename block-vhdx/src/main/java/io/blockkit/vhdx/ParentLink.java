package io.blockkit.vhdx;

import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.RelatedImages;
import io.blockkit.api.error.BackingChainException;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Opens the parent of a differencing image from its parent locator, through the registry: the
 * paths are tried in the specification's order ({@link ParentLocator#candidates}), and a VHDX
 * parent must carry the DataWriteGuid the locator links to and the child's logical sector size,
 * unless the user named the backing explicitly.
 *
 * @param backing the opened parent, or null when the user dropped it ({@code backing=null})
 * @param link what the locator names, for info
 */
record ParentLink(BlockDevice backing, BackingLink link) {

  static ParentLink open(OpenRequest request, Metadata md, String location) throws IOException {
    ParentLocator loc = md.locator();
    String format;
    if (loc.type().equals(ParentLocator.VHDX_TYPE)) {
      format = VhdxDriver.NAME;
    } else if (loc.type().equals(ParentLocator.BLOCKKIT_TYPE)) {
      format = loc.entries().get(ParentLocator.PARENT_FORMAT);
    } else {
      throw new UnsupportedFeatureException("VHDX image '" + location + "' has a parent locator"
          + " of type " + loc.type() + ", which this driver does not know (it knows the VHDX "
          + "type " + ParentLocator.VHDX_TYPE + ")");
    }
    RelatedImages related = request.related();
    List<String> names = loc.candidates();
    if (names.isEmpty() && !related.backingOverridden()) {
      throw new CorruptImageException(location, "the parent locator names no parent this system "
          + "can open: it has no relative_path, and its other paths " + loc.entries().keySet()
          + " are Windows volume or drive paths (name the parent with backing.file.filename)");
    }
    String stored = names.isEmpty() ? null : names.get(0);
    BlockDevice parent = null;
    IOException first = null;
    if (related.backingOverridden()) {
      parent = related.openBacking(stored, format).orElse(null);
    } else {
      for (String name : names) {
        try {
          parent = related.openBacking(name, format).orElse(null);
          stored = name;
          first = null;
          break;
        } catch (BackingChainException e) {
          if (!notFound(e)) {
            throw e;
          }
          first = first != null ? first : e;
        }
      }
      if (first != null) {
        throw first;
      }
    }
    BackingLink link = stored == null ? null
        : new BackingLink(stored, related.resolve(stored), format);
    try {
      if (parent != null && format != null && format.equals(VhdxDriver.NAME)
          && !related.backingOverridden()) {
        verify(parent, loc, md, location, link);
      }
      return new ParentLink(parent, link);
    } catch (IOException | RuntimeException e) {
      if (parent != null) {
        parent.close();
      }
      throw e;
    }
  }

  /** The VHDX parent's identity and sector size must be what the child was made over. */
  private static void verify(BlockDevice parent, ParentLocator loc, Metadata md, String location,
      BackingLink link) throws IOException {
    Map<String, Object> fields = parent.info().formatSpecific();
    Object dataWrite = fields.get("data-write-guid");
    List<UUID> linkages = loc.linkages();
    if (dataWrite != null && !linkages.contains(UUID.fromString(dataWrite.toString()))) {
      throw new BackingChainException(List.of(location, link.fullFilename()), "Parent '"
          + link.fullFilename() + "' of differencing image '" + location + "' has DataWriteGuid "
          + Guids.braced(UUID.fromString(dataWrite.toString())) + ", but the image links to "
          + (linkages.isEmpty() ? "none" : linkages.stream().map(Guids::braced).toList())
          + " (parent_linkage): the parent was changed after this image was made over it, so "
          + "the image would read wrong data", null);
    }
    Object sector = fields.get("logical-sector-size");
    if (sector != null && ((Number) sector).longValue() != md.logicalSectorSize()) {
      throw new BackingChainException(List.of(location, link.fullFilename()), "Parent '"
          + link.fullFilename() + "' of differencing image '" + location + "' has "
          + sector + "-byte logical sectors, the image " + md.logicalSectorSize() + "-byte ones",
          null);
    }
  }

  private static boolean notFound(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ImageAccessException a
          && a.reason() == ImageAccessException.Reason.NOT_FOUND) {
        return true;
      }
    }
    return false;
  }
}
