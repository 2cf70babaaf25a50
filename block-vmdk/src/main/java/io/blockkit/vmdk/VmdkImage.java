package io.blockkit.vmdk;

import static io.blockkit.vmdk.SparseHeader.SECTOR;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.error.BlockException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An open VMDK image: its descriptor and extents laid end to end, over an optional parent. The
 * descriptor's CID changes (once per open) before the first write, as VMware and QEMU do, so
 * that children made from the old content notice.
 */
final class VmdkImage extends AbstractBlockDevice {
  private static final SecureRandom RANDOM = new SecureRandom();

  private final List<DiskExtent> extents;
  private final long[] starts;
  private final long size;
  private final List<BlockDevice> files;
  private final SparseHeader embeddedIn;
  private final BackingLink link;
  private final boolean namesParent;
  /** Why the parent may not be read (a CID mismatch), or null. */
  private final String parentProblem;
  private volatile Descriptor descriptor;
  private volatile boolean cidRenewed;

  VmdkImage(BlockDriver driver, String location, boolean readOnly, BlockDevice child,
      BlockDevice backing, VmdkOpener parts, BackingLink link, String parentProblem) {
    super(driver, location, readOnly, child, backing);
    this.extents = List.copyOf(parts.extents);
    this.starts = new long[extents.size()];
    long s = 0;
    for (int i = 0; i < extents.size(); i++) {
      starts[i] = s;
      s += extents.get(i).length();
    }
    this.size = s;
    this.files = parts.handOver();
    this.embeddedIn = parts.embeddedIn;
    this.descriptor = parts.descriptor;
    this.link = link;
    this.namesParent = parts.descriptor.parentFileNameHint != null;
    this.parentProblem = parentProblem;
    this.cidRenewed = embeddedIn != null && embeddedIn.has(SparseHeader.FLAG_COMPRESSED);
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public Set<Capability> capabilities() {
    Set<Capability> c = EnumSet.of(Capability.BLOCK_STATUS, Capability.CHECK);
    if (!isReadOnly()) {
      c.add(Capability.REPAIR);
      c.add(Capability.WRITE);
      c.add(Capability.WRITE_ZEROES);
    }
    if (childDevice().capabilities().contains(Capability.FLUSH)) {
      c.add(Capability.FLUSH);
    }
    return c;
  }

  Descriptor descriptor() {
    return descriptor;
  }

  /** Index of the extent holding byte {@code offset}. */
  private int extentAt(long offset) {
    int lo = 0;
    int hi = starts.length - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= offset) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    while (lo < starts.length - 1 && extents.get(lo).length() == 0) {
      lo++;
    }
    return lo;
  }

  private DiskExtent.Parent parentAt(long start) {
    return (off, dst) -> readParent(start + off, dst);
  }

  private void readParent(long offset, ByteBuffer dst) throws IOException {
    if (parentProblem != null && backing().isPresent()) {
      throw new BlockException(parentProblem);
    }
    readBacking(offset, dst);
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    long pos = offset;
    while (dst.hasRemaining()) {
      int i = extentAt(pos);
      DiskExtent e = extents.get(i);
      long in = pos - starts[i];
      int n = (int) Math.min(dst.remaining(), e.length() - in);
      ByteBuffer part = dst.slice().limit(n);
      e.read(in, part, parentAt(starts[i]));
      dst.position(dst.position() + n);
      pos += n;
    }
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    renewCid();
    long pos = offset;
    while (src.hasRemaining()) {
      int i = extentAt(pos);
      DiskExtent e = extents.get(i);
      long in = pos - starts[i];
      int n = (int) Math.min(src.remaining(), e.length() - in);
      ByteBuffer part = src.slice().limit(n);
      e.write(in, part, parentAt(starts[i]));
      src.position(src.position() + n);
      pos += n;
    }
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    renewCid();
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      int i = extentAt(pos);
      DiskExtent e = extents.get(i);
      long in = pos - starts[i];
      long n = Math.min(end - pos, e.length() - in);
      e.writeZeroes(in, n, namesParent, parentAt(starts[i]));
      pos += n;
    }
  }

  /**
   * Gives the descriptor a new random CID before the first change of content in this open, as
   * VMware does: a child made from the old content then no longer matches.
   */
  private void renewCid() throws IOException {
    if (cidRenewed) {
      return;
    }
    synchronized (this) {
      if (cidRenewed) {
        return;
      }
      Descriptor d = descriptor;
      int cid;
      do {
        cid = RANDOM.nextInt();
      } while (cid == d.cid || cid == Descriptor.NO_PARENT);
      String text = d.withCid(cid);
      writeDescriptor(text);
      descriptor = Descriptor.parse(location(), text);
      cidRenewed = true;
    }
  }

  private void writeDescriptor(String text) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    BlockDevice file = childDevice();
    if (embeddedIn != null) {
      if (embeddedIn.descOffset == 0 || embeddedIn.descSectors == 0) {
        return; // an extent file opened by itself keeps no descriptor (nor CID)
      }
      long area = embeddedIn.descSectors * SECTOR;
      if (bytes.length > area) {
        throw new BlockException("The descriptor of '" + location() + "' would not fit its "
            + area + "-byte area");
      }
      // The whole area the open reads, zero-filled: the text ends at its first NUL, so nothing
      // of a longer old text (or of bytes after a NUL the open stopped at) may follow it.
      ByteBuffer b = ByteBuffer.allocate((int) Math.min(area, Descriptor.MAX_BYTES));
      b.put(bytes).clear();
      file.write(embeddedIn.descOffset * SECTOR, b);
    } else {
      file.write(0, ByteBuffer.wrap(bytes));
      if (file.size() > bytes.length && file.capabilities().contains(Capability.RESIZE)) {
        file.truncate(bytes.length);
      }
    }
  }

  /** The status of one extent's run, continued into the next extents while it stays the same. */
  @Override
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    Extent first = extentStatus(offset, length);
    long end = offset + length;
    while (first.end() < end) {
      Extent next = extentStatus(first.end(), end - first.end());
      if (!first.canMerge(next)) {
        break;
      }
      first = first.merge(next);
    }
    return first;
  }

  private Extent extentStatus(long offset, long length) throws IOException {
    int i = extentAt(offset);
    DiskExtent e = extents.get(i);
    long in = offset - starts[i];
    DiskExtent.Run r = e.status(in, Math.min(length, e.length() - in));
    return switch (r.kind()) {
      case DATA -> new Extent(offset, r.length(), true, false, true, r.hostOffset(), r.host());
      case COMPRESSED -> new Extent(offset, r.length(), true, false, true, -1, null);
      case ZERO -> Extent.zero(offset, r.length());
      case UNALLOCATED -> new Extent(offset, r.length(), false, !namesParent, false, -1, null);
    };
  }

  @Override
  protected void doFlush() throws IOException {
    for (DiskExtent e : extents) {
      e.flush();
    }
    childDevice().flush();
  }

  @Override
  protected CheckReport doCheck(CheckMode mode) throws IOException {
    CheckReport before = checkExtents(new CheckReport.Builder()).build();
    if (mode == CheckMode.REPORT || before.isClean()) {
      return before;
    }
    for (DiskExtent e : extents) {
      e.repair(mode);
    }
    childDevice().flush();
    CheckReport.Builder after = checkExtents(new CheckReport.Builder());
    long corruptionsFixed = Math.max(0, before.corruptions() - after.corruptions());
    long leaksFixed = Math.max(0, before.leaks() - after.leaks());
    if (corruptionsFixed + leaksFixed > 0) {
      after.info("Repaired: " + corruptionsFixed + " corruptions and " + leaksFixed
          + " leaks (grains and tables copied, redundant tables rewritten, unused space cut)");
    }
    return after.corruptionsFixed(corruptionsFixed).leaksFixed(leaksFixed).build();
  }

  private CheckReport.Builder checkExtents(CheckReport.Builder report) throws IOException {
    DiskExtent.Totals totals = new DiskExtent.Totals();
    for (int i = 0; i < extents.size(); i++) {
      DiskExtent e = extents.get(i);
      String name = extents.size() == 1 && e.file() == childDevice() ? "'" + location() + "'"
          : "extent " + (i + 1) + " of '" + location() + "'";
      e.check(report, name, totals);
    }
    if (totals.total > 0) {
      report.clusters(totals.total, totals.allocated, totals.fragmented);
    }
    if (extents.size() == 1 && extents.get(0).file() == childDevice()) {
      report.imageEndOffset(totals.endOffset);
    }
    return report;
  }

  @Override
  public ImageInfo info() throws IOException {
    ensureOpen();
    long cluster = 0;
    for (DiskExtent e : extents) {
      if (e instanceof SparseExtent s) {
        cluster = s.grainBytes();
        break;
      }
    }
    return new ImageInfo(location(), driver().name(), size, allocatedSize(), cluster, false,
        formatSpecific(), link);
  }

  @Override
  protected Map<String, Object> formatSpecific() {
    Descriptor d = descriptor;
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cid", Integer.toUnsignedLong(d.cid));
    m.put("parent-cid", Integer.toUnsignedLong(d.parentCid));
    m.put("create-type", d.createType);
    List<Object> list = new ArrayList<>();
    for (DiskExtent e : extents) {
      Map<String, Object> x = new LinkedHashMap<>();
      if (e instanceof SparseExtent s && s.header.has(SparseHeader.FLAG_COMPRESSED)) {
        x.put("compressed", true);
      }
      x.put("virtual-size", e.length());
      x.put("filename", e.file() == null ? "" : e.file().location());
      if (e instanceof SparseExtent s) {
        x.put("cluster-size", s.grainBytes());
      }
      // qemu-img's values: the extent line's type, empty for a sparse file opened by itself
      x.put("format", embeddedIn != null ? "" : e instanceof SparseExtent ? "SPARSE"
          : e instanceof FlatExtent ? "FLAT" : "ZERO");
      list.add(x);
    }
    m.put("extents", list);
    return m;
  }

  @Override
  public long allocatedSize() throws IOException {
    long total = childDevice().allocatedSize();
    Map<BlockDevice, Boolean> seen = new IdentityHashMap<>();
    seen.put(childDevice(), true);
    for (BlockDevice f : files) {
      if (seen.put(f, true) == null) {
        long n = f.allocatedSize();
        if (n < 0) {
          return -1;
        }
        total += n;
      }
    }
    return total;
  }

  @Override
  protected BackingLink backingLink() {
    return link;
  }

  @Override
  protected void doClose() throws IOException {
    IOException failure = null;
    for (DiskExtent e : extents) {
      try {
        e.close();
      } catch (IOException ex) {
        failure = failure == null ? ex : failure;
      }
    }
    for (BlockDevice f : files) {
      try {
        f.close();
      } catch (IOException ex) {
        failure = failure == null ? ex : failure;
      }
    }
    if (failure != null) {
      throw failure;
    }
  }
}
