package io.blockkit.vdi;

import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.Options;
import io.blockkit.vdi.VdiJournal.Changes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.UUID;

/**
 * The identity fields of an open image and the operations that change them, each one header
 * write: amend ({@code uuid}, {@code parent_uuid}, {@code comment}, as VBoxManage's {@code
 * sethduuid}, {@code sethdparentuuid} and {@code --comment} do), a new parent (rebase: the parent
 * UUIDs come from the new parent image), and following a parent this session modified (commit
 * writes into the parent through the child, whose recorded parent modification UUID then follows,
 * as VirtualBox's merge does).
 */
final class VdiIdentity {
  private static final UUID NULL = new UUID(0, 0);

  private final VdiImage image;
  private final VdiJournal journal;
  /** How the parent was found (null for a base image opened without a search). */
  private final VdiParent parent;
  private volatile BackingLink changed;
  private volatile boolean relinked;

  VdiIdentity(VdiImage image, VdiJournal journal, VdiParent parent) {
    this.image = image;
    this.journal = journal;
    this.parent = parent;
  }

  /** The parent this image's metadata identifies, as info reports it. */
  BackingLink link() {
    if (relinked) {
      return changed;
    }
    if (!image.header.isDifferencing() || parent == null) {
      return null;
    }
    return parent.linkSearching();
  }

  void amend(Options o) throws IOException {
    image.exclusively(() -> {
      amendLocked(o);
      return null;
    });
  }

  private void amendLocked(Options o) throws IOException {
    VdiHeader h = image.header;
    UUID create = uuid(o, "uuid", h.uuidCreate);
    UUID linkage = uuid(o, "parent_uuid", h.uuidLinkage);
    if (!linkage.equals(h.uuidLinkage) && h.type == VdiHeader.TYPE_FIXED) {
      throw new UnsupportedFeatureException("Cannot set a parent UUID on VDI image '"
          + image.location() + "': it is a fixed image, which VirtualBox never opens as a "
          + "differencing image");
    }
    VdiHeader next = h.withIdentity(create, linkage, h.uuidParentModify, h.type);
    if (o.isSet("comment")) {
      next = next.withComment(comment(o.string("comment"), h));
    }
    store(next);
  }

  private UUID uuid(Options o, String key, UUID current) throws InvalidOptionException {
    if (!o.isSet(key)) {
      return current;
    }
    UUID u = o.uuid(key).orElseThrow();
    if (VdiParent.isNull(u)) {
      throw new InvalidOptionException("Option '" + key + "': the null UUID is not allowed"
          + (key.equals("uuid") ? " (VirtualBox rejects images whose UUID is null)"
              : "; to make the image a base image, rebase it onto no backing file"));
    }
    return u;
  }

  private byte[] comment(String text, VdiHeader h) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    if (h.isV0()) {
      throw new UnsupportedFeatureException("Cannot set the comment of VDI image '"
          + image.location() + "': it has a version 0.2 header (VirtualBox changes comments of "
          + "version 1.x headers only)");
    }
    if (bytes.length >= VdiHeader.COMMENT_SIZE || text.indexOf('\0') >= 0) {
      throw new InvalidOptionException("Option 'comment': " + bytes.length + " bytes is too "
          + "long; at most 255 bytes of UTF-8 without NUL characters fit in the header");
    }
    return bytes;
  }

  /**
   * Records {@code newBacking} as the parent: its image UUID and modification UUID become the
   * parent UUIDs; null (with a null link) makes the image a base image. A base image that gets a
   * parent first turns its FREE blocks into ZERO blocks, which read zeros as before: its block
   * status called them its own, so a rebase copied nothing for them.
   */
  void changeParent(BackingLink link, BlockDevice newBacking) throws IOException {
    image.exclusively(() -> {
      changeParentLocked(link, newBacking);
      return null;
    });
  }

  private void changeParentLocked(BackingLink link, BlockDevice newBacking) throws IOException {
    {
      VdiHeader h = image.header;
      VdiHeader next;
      if (newBacking == null) {
        if (link != null) {
          throw new InvalidOptionException("Cannot make '" + link.filename() + "' the parent of "
              + "VDI image '" + image.location() + "' without opening it: a VDI records its "
              + "parent's UUIDs, which are read from the open parent");
        }
        int type = h.type == VdiHeader.TYPE_DIFF ? VdiHeader.TYPE_NORMAL : h.type;
        next = h.withIdentity(h.uuidCreate, NULL, NULL, type);
      } else {
        if (!(newBacking instanceof VdiImage p)) {
          throw new InvalidOptionException("VDI image '" + image.location() + "' can only have a "
              + "VDI parent (VirtualBox identifies it by its UUID); '" + newBacking.location()
              + "' is a " + newBacking.driver().name() + " image");
        }
        if (h.type == VdiHeader.TYPE_FIXED) {
          throw new UnsupportedFeatureException("VDI image '" + image.location() + "' is a fixed "
              + "image, which VirtualBox never opens as a differencing image; convert it first");
        }
        if (!h.isDifferencing()) {
          freeToZero();
        }
        int type = h.type == VdiHeader.TYPE_NORMAL ? VdiHeader.TYPE_DIFF : h.type;
        next = h.withIdentity(h.uuidCreate, p.header.uuidCreate, p.modificationUuid(), type);
      }
      store(next);
      changed = link == null ? null
          : new BackingLink(link.filename(), link.fullFilename(), VdiDriver.NAME);
      relinked = true;
    }
  }

  /** FREE entries become ZERO, written before the header that would make them inherit. */
  private void freeToZero() throws IOException {
    BlockMap map = image.map;
    BlockMap.Cursor scan = map.cursor();
    Changes changes = new Changes();
    for (long b = 0; b < map.size(); b++) {
      if (scan.get(b) == BlockMap.FREE) {
        map.set(b, BlockMap.ZERO);
        changes.entry(b);
      }
    }
    journal.markModified(changes);
    journal.commit(changes);
    map.releasePinned();
    image.file().flush();
  }

  /**
   * When this session wrote into the parent through this image (a commit), records the parent's
   * new modification UUID, after the parent's header holding it is flushed.
   */
  void followParent() throws IOException {
    Optional<BlockDevice> b = image.backing();
    if (image.isReadOnly() || b.isEmpty() || !(b.get() instanceof VdiImage p)
        || !p.modifiedThisSession()) {
      return;
    }
    VdiHeader h = image.header;
    UUID now = p.modificationUuid();
    if (!h.isDifferencing() || !h.hasParentModify() || !h.uuidLinkage.equals(p.header.uuidCreate)
        || now.equals(h.uuidParentModify)) {
      return;
    }
    p.flush();
    image.exclusively(() -> {
      store(h.withIdentity(h.uuidCreate, h.uuidLinkage, now, h.type));
      return null;
    });
  }

  /** Makes {@code next} the header and writes it (one write; durable with the next flush). */
  private void store(VdiHeader next) throws IOException {
    image.replaceLayout(next);
    Changes c = Changes.header();
    journal.markModified(c);
    journal.commit(c);
  }
}
