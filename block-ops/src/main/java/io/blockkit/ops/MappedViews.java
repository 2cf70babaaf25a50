package io.blockkit.ops;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;

/**
 * Releases memory-mapped views as soon as they are done with, instead of when the collector
 * finds them: a convert maps its whole source chunk by chunk, and mappings left to the collector
 * would hold address space and count as resident memory until then. Uses the JDK's supported
 * escape hatch ({@code sun.misc.Unsafe.invokeCleaner}, module jdk.unsupported); where that is
 * unavailable the collector releases them as usual.
 */
final class MappedViews {
  private static final Object UNSAFE;
  private static final Method INVOKE_CLEANER;

  static {
    Object unsafe = null;
    Method m = null;
    try {
      Class<?> c = Class.forName("sun.misc.Unsafe");
      Field f = c.getDeclaredField("theUnsafe");
      f.setAccessible(true);
      unsafe = f.get(null);
      m = c.getMethod("invokeCleaner", ByteBuffer.class);
    } catch (ReflectiveOperationException | RuntimeException e) {
      unsafe = null;
      m = null;
    }
    UNSAFE = unsafe;
    INVOKE_CLEANER = m;
  }

  private MappedViews() {}

  /** Unmaps {@code buf} if it is a mapped view (no slice or duplicate of it may be used after). */
  static void unmap(ByteBuffer buf) {
    if (!(buf instanceof MappedByteBuffer) || INVOKE_CLEANER == null) {
      return;
    }
    try {
      INVOKE_CLEANER.invoke(UNSAFE, buf);
    } catch (ReflectiveOperationException | RuntimeException e) {
      // left to the collector
    }
  }
}
