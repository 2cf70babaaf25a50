package io.blockkit.vdi;

import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.RelatedImages;
import io.blockkit.api.error.BackingChainException;
import io.blockkit.api.error.InvalidOptionException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/**
 * Finds and opens the parent of a differencing image the way VirtualBox identifies it: by UUID,
 * since a VDI records no parent name. The candidates are the file or folder named by the {@code
 * parent_search} open option (first), the files next to the image ({@code .vdi} names before
 * the others) and those of the folder above it (where VirtualBox keeps the base disk of the
 * snapshots in a VM's Snapshots folder); the first whose image UUID equals the child's parent
 * UUID is the parent, opened through {@link RelatedImages#openBacking} so that the registry
 * applies the user's {@code backing.*} overrides and refuses loops. A child whose parent has been modified since it was made
 * (the parent's modification UUID differs from the one the child recorded) opens with a warning,
 * as VirtualBox opens it without checking.
 */
final class VdiParent {
  /** The open option naming a file or folder to search for the parent. */
  static final String SEARCH_OPTION = "parent_search";

  private final RelatedImages related;
  private final String location;
  private final VdiHeader child;
  private final String explicit;
  private final List<String> searched = new ArrayList<>();
  private BackingLink found;

  private VdiParent(RelatedImages related, String location, VdiHeader child, String explicit) {
    this.related = related;
    this.location = location;
    this.child = child;
    this.explicit = explicit == null || explicit.isEmpty() ? null : explicit;
  }

  /** The parent as this image's metadata identifies it: the file found, or null. */
  BackingLink link() {
    return found;
  }

  /** The link, searching for it now if the open did not (the user named or dropped the parent). */
  BackingLink linkSearching() {
    if (found == null) {
      try {
        search();
      } catch (IOException | RuntimeException e) {
        return null; // info names no backing file then; the UUIDs are in format-specific info
      }
    }
    return found;
  }

  /**
   * The result of an open: the parent device (null when the user dropped it) and how it was
   * found.
   */
  record Opened(BlockDevice backing, VdiParent parent) {}

  /**
   * Finds and opens the parent of the differencing image {@code header} describes.
   *
   * @throws BackingChainException when no candidate has the parent's UUID; the message names the
   *     UUID and where it was searched
   */
  static Opened open(OpenRequest request, VdiHeader header) throws IOException {
    String explicit = request.options().has(SEARCH_OPTION)
        ? request.options().string(SEARCH_OPTION) : null;
    VdiParent p = new VdiParent(request.related(), request.location(), header, explicit);
    RelatedImages related = request.related();
    String name = null;
    if (!related.backingOverridden()) {
      name = p.search();
      if (name == null) {
        if (p.needsParent(request)) {
          throw p.missing();
        }
        request.warnings().accept("WARNING: the parent of VDI differencing image '"
            + request.location() + "' (UUID {" + header.uuidLinkage + "}) was not found; it "
            + "opens without it, since no block is left to the parent");
        return new Opened(null, p);
      }
    } else {
      // The user named (or dropped) the backing: it wins, but a name found here is still used
      // when the options change only how it opens.
      BackingLink l = p.linkSearching();
      name = l == null ? null : l.filename();
    }
    BlockDevice backing = related.openBacking(name, VdiDriver.NAME).orElse(null);
    if (backing != null) {
      try {
        p.verify(backing, request);
      } catch (IOException | RuntimeException e) {
        try {
          backing.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      }
    }
    return new Opened(backing, p);
  }

  /** Refuses a parent that is no VDI image and warns about a UUID or modification mismatch. */
  private void verify(BlockDevice backing, OpenRequest request) throws IOException {
    if (!(backing instanceof VdiImage parent)) {
      throw new InvalidOptionException("The parent of VDI differencing image '" + location
          + "' must be a VDI image (VirtualBox identifies it by its UUID), but '"
          + backing.location() + "' opened as format '" + backing.driver().name() + "'");
    }
    VdiHeader ph = parent.header;
    if (!ph.uuidCreate.equals(child.uuidLinkage)) {
      request.warnings().accept("WARNING: the backing image '" + backing.location() + "' of '"
          + location + "' has UUID " + ph.uuidCreate + ", not the parent UUID "
          + child.uuidLinkage + " that '" + location + "' records; reading through it as asked");
    } else if (child.hasParentModify() && !isNull(child.uuidParentModify)
        && !child.uuidParentModify.equals(parent.modificationUuid())) {
      request.warnings().accept("WARNING: the parent '" + backing.location() + "' of VDI image '"
          + location + "' was modified after '" + location + "' was made from it (parent "
          + "modification UUID " + parent.modificationUuid() + ", recorded "
          + child.uuidParentModify + "); blocks the image leaves to its parent may read data "
          + "it never held");
    }
  }

  static boolean isNull(UUID u) {
    return u.getMostSignificantBits() == 0 && u.getLeastSignificantBits() == 0;
  }

  /**
   * Looks for the parent: the explicit file or folder, then the image's folder.
   *
   * @return the parent's name in the form {@link RelatedImages#openBacking} takes, or null
   */
  private String search() throws IOException {
    searched.clear();
    List<String> candidates = new ArrayList<>();
    if (explicit != null) {
      List<String> inFolder = folder(explicit);
      if (inFolder == null) {
        candidates.add(explicit);
        searched.add("'" + related.resolve(explicit) + "'");
      } else {
        candidates.addAll(inFolder);
        searched.add("folder '" + related.resolve(folderPrefix(explicit)) + "'");
      }
    }
    List<String> own = folder(null);
    if (own != null) {
      candidates.addAll(own);
      searched.add("the folder of '" + location + "'");
    }
    // VirtualBox keeps snapshots in the VM's Snapshots folder and the base disk above it.
    List<String> above = folder("..");
    if (above != null) {
      candidates.addAll(above);
      searched.add("the folder above it");
    }
    for (String name : candidates) {
      if (matches(name)) {
        found = new BackingLink(name, related.resolve(name), VdiDriver.NAME);
        return name;
      }
    }
    return null;
  }

  /**
   * The files of a folder (null: the image's own) as names relative to the image, {@code .vdi}
   * names first; null when it cannot be listed (then {@code folder} is taken as a file).
   */
  private List<String> folder(String folder) {
    List<String> entries;
    try {
      entries = related.listFolder(folder);
    } catch (IOException | RuntimeException e) {
      return null;
    }
    String prefix = folder == null ? "" : folderPrefix(folder);
    String probe = "x";
    String resolved = related.resolve(prefix + probe);
    String resolvedPrefix = resolved.substring(0, resolved.length() - probe.length());
    List<String> vdi = new ArrayList<>();
    List<String> other = new ArrayList<>();
    for (String e : entries) {
      String base = e.startsWith(resolvedPrefix) ? e.substring(resolvedPrefix.length())
          : e.substring(e.lastIndexOf('/') + 1);
      String name = prefix + base;
      (base.toLowerCase(Locale.ROOT).endsWith(".vdi") ? vdi : other).add(name);
    }
    vdi.addAll(other);
    return vdi;
  }

  private static String folderPrefix(String folder) {
    return folder.endsWith("/") ? folder : folder + "/";
  }

  /** True when the file {@code name} is a VDI image whose UUID is the parent UUID. */
  private boolean matches(String name) {
    try (BlockDevice f = related.openFile(name, true)) {
      long length = f.size();
      ByteBuffer head = ByteBuffer.allocate((int) Math.min(length, VdiHeader.SECTOR_SIZE));
      f.read(0, head);
      head.flip();
      VdiHeader h = VdiHeader.parse(name, head, length);
      return h.uuidCreate.equals(child.uuidLinkage);
    } catch (IOException | RuntimeException notIt) {
      return false; // not a VDI image, unreadable, or locked by a writer: not a candidate
    }
  }

  /** True when some block of the map is FREE, left to the parent. */
  private boolean needsParent(OpenRequest request) throws IOException {
    BlockMap.Cursor scan = new BlockMap(request.child(), child.blocksOffset, child.blocks)
        .cursor();
    for (long b = 0; b < child.blocks; b++) {
      if (scan.get(b) == BlockMap.FREE) {
        return true;
      }
    }
    return false;
  }

  private BackingChainException missing() {
    String where = searched.isEmpty() ? "any folder (the image's folder cannot be listed)"
        : String.join(" and ", searched);
    return new BackingChainException(List.of(location, "{" + child.uuidLinkage + "}"),
        "Cannot open VDI differencing image '" + location + "': its parent, the VDI image with "
            + "UUID {" + child.uuidLinkage + "}, was not found in " + where + ". Put the parent "
            + "next to it, name a file or folder with the open option " + SEARCH_OPTION
            + "=PATH, or name the parent with backing.file.filename=PATH", null);
  }
}
