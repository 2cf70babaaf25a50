package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BlockDevice;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Writers from several threads, to disjoint and to overlapping ranges, with readers alongside. */
abstract class ConcurrencyTests extends DeviceGroup {
  ConcurrencyTests(BlockDriverConformanceTest subject) {
    super(subject);
  }

  @Test
  public void concurrentWritersToDisjointRangesAllLand() throws Exception {
    BlockDevice d = fresh();
    requireWritable(d);
    int threads = 4;
    int size = (int) d.size();
    int slice = size / threads;
    byte[] model = randomBytes(size);
    List<Callable<Void>> tasks = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int start = t * slice;
      int end = t == threads - 1 ? size : start + slice;
      long threadSeed = random().nextLong();
      tasks.add(() -> {
        Random r = new Random(threadSeed);
        int pos = start;
        while (pos < end) {
          int len = Math.min(end - pos, 1 + r.nextInt(3 * block()));
          d.write(pos, ByteBuffer.wrap(model, pos, len).slice());
          pos += len;
        }
        return null;
      });
    }
    runAll(tasks);
    assertImageEquals(model, d, "after concurrent writers");
  }

  /**
   * Writers racing over the same range (crossing block boundaries, into unallocated blocks) and
   * a reader alongside: every byte read, during and after, is one some writer wrote (or the
   * initial zero), never a lost allocation or foreign data.
   */
  @Test
  public void concurrentOverlappingWritersLeaveSomeWritersBytes() throws Exception {
    BlockDevice d = fresh();
    requireWritable(d);
    assumeTrue(subject.freshImagesReadZero(), "needs images that start zeroed");
    int block = block();
    long start = Math.min(block / 2 + 17, d.size() / 4);
    int length = (int) Math.min(d.size() - start, 2L * block + 4321);
    int writers = 3;
    AtomicInteger writing = new AtomicInteger(writers);
    List<Callable<Void>> tasks = new ArrayList<>();
    for (int t = 1; t <= writers; t++) {
      byte value = (byte) t;
      tasks.add(() -> {
        byte[] data = new byte[length];
        Arrays.fill(data, value);
        try {
          for (int round = 0; round < 8; round++) {
            d.write(start, ByteBuffer.wrap(data));
          }
        } finally {
          writing.decrementAndGet();
        }
        return null;
      });
    }
    tasks.add(() -> {
      while (writing.get() > 0) {
        checkOnlyWriterBytes(readAll(d, start, length), start, writers, "while writing");
      }
      return null;
    });
    runAll(tasks);
    byte[] after = readAll(d, start, length);
    checkOnlyWriterBytes(after, start, writers, "after writing");
    for (int i = 0; i < length; i++) {
      if (after[i] == 0) {
        fail("byte " + (start + i) + " lost every writer's data" + seedNote());
      }
    }
  }

  private void checkOnlyWriterBytes(byte[] got, long start, int writers, String when) {
    for (int i = 0; i < got.length; i++) {
      if (got[i] < 0 || got[i] > writers) {
        fail("byte " + (start + i) + " read " + when + " is " + got[i]
            + ", which no writer wrote" + seedNote());
      }
    }
  }

  /**
   * Runs the tasks on a thread each and waits for all; the first task's failure is thrown as it
   * is (an assertion error stays one).
   */
  static void runAll(List<? extends Callable<?>> tasks) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(tasks.size());
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (Callable<?> t : tasks) {
        futures.add(pool.submit(t));
      }
      for (Future<?> f : futures) {
        try {
          f.get(5, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
          if (e.getCause() instanceof Exception x) {
            throw x;
          }
          throw (Error) e.getCause();
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
