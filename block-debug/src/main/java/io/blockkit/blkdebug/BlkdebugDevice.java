package io.blockkit.blkdebug;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Capability;
import io.blockkit.api.Extent;
import io.blockkit.api.OpenRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/** One open blkdebug node: counts requests and fails or drops them as its {@link FaultPlan} says. */
final class BlkdebugDevice extends AbstractBlockDevice {
  private final FaultPlan plan;
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong writes = new AtomicLong();
  private final AtomicLong flushes = new AtomicLong();
  private final AtomicLong droppedWrites = new AtomicLong();
  private final AtomicLong injectedFaults = new AtomicLong();
  /** Guards the byte budget so concurrent writes cannot both squeeze under the limit. */
  private final Object byteBudget = new Object();
  private long bytesWritten;
  private boolean bytesRuleFired;

  BlkdebugDevice(BlkdebugDriver driver, OpenRequest request, FaultPlan plan) {
    super(driver, request.child().location(), request.readOnly(), request.child());
    this.plan = plan;
  }

  @Override
  public long size() throws IOException {
    return childDevice().size();
  }

  @Override
  public Set<Capability> capabilities() {
    return childDevice().capabilities();
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    long n = reads.incrementAndGet();
    if (plan.fires(plan.failRead(), n)) {
      throw injected("read #" + n + " (" + dst.remaining() + " bytes at offset " + offset
          + ") failed", FaultPlan.FAIL_READ, plan.failRead());
    }
    childDevice().read(offset, dst);
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    if (admitWrite("write", offset, src.remaining(), true)) {
      childDevice().write(offset, src);
    } else {
      src.position(src.limit());
    }
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    if (admitWrite("write-zeroes", offset, length, true)) {
      childDevice().writeZeroes(offset, length);
    }
  }

  @Override
  protected void doDiscard(long offset, long length) throws IOException {
    if (admitWrite("discard", offset, length, false)) {
      childDevice().discard(offset, length);
    }
  }

  @Override
  protected void doTruncate(long newSize) throws IOException {
    if (admitWrite("truncate", newSize, 0, false)) {
      childDevice().truncate(newSize);
    }
  }

  /**
   * Counts one write request and decides its fate: throws for an injected failure, returns false
   * when power is lost (drop silently), true when the request should reach the child.
   */
  private boolean admitWrite(String what, long offset, long length, boolean countsBytes)
      throws InjectedFaultException {
    long n = writes.incrementAndGet();
    String request = what + " #" + n + " (" + length + " bytes at offset " + offset + ")";
    if (plan.powerLossAfterWrites() >= 0 && n > plan.powerLossAfterWrites()) {
      droppedWrites.incrementAndGet();
      return false;
    }
    if (plan.fires(plan.failWrite(), n)) {
      throw injected(request + " failed", FaultPlan.FAIL_WRITE, plan.failWrite());
    }
    if (countsBytes) {
      synchronized (byteBudget) {
        boolean over = plan.failAfterBytes() >= 0
            && length > plan.failAfterBytes() - bytesWritten;
        if (over && !(plan.once() && bytesRuleFired)) {
          bytesRuleFired = true;
          throw injected(request + " failed after " + bytesWritten + " bytes were written",
              FaultPlan.FAIL_AFTER_BYTES, plan.failAfterBytes());
        }
        bytesWritten += length;
      }
    }
    return true;
  }

  @Override
  protected void doFlush() throws IOException {
    long n = flushes.incrementAndGet();
    if (plan.fires(plan.failFlush(), n)) {
      throw injected("flush #" + n + " failed", FaultPlan.FAIL_FLUSH, plan.failFlush());
    }
    if (plan.powerLossAfterWrites() >= 0 && writes.get() > plan.powerLossAfterWrites()) {
      return; // the power is off: nothing more reaches the disk
    }
    childDevice().flush();
  }

  @Override
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    return childDevice().blockStatus(offset, length);
  }

  @Override
  protected CheckReport doCheck(CheckMode mode) throws IOException {
    return childDevice().check(mode);
  }

  @Override
  protected Map<String, Object> formatSpecific() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("reads", reads.get());
    m.put("writes", writes.get());
    m.put("flushes", flushes.get());
    synchronized (byteBudget) {
      m.put("bytes-written", bytesWritten);
    }
    m.put("dropped-writes", droppedWrites.get());
    m.put("injected-faults", injectedFaults.get());
    return m;
  }

  private InjectedFaultException injected(String what, String rule, long value) {
    injectedFaults.incrementAndGet();
    return new InjectedFaultException("Injected fault on '" + location() + "': " + what
        + " (blkdebug " + rule + "=" + value + (plan.once() ? ", once" : "") + ")");
  }
}
