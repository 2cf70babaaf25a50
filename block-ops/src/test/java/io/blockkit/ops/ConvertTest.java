package io.blockkit.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.ops.ProgressListener.Status;
import io.blockkit.registry.BlockRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConvertTest {
  @TempDir
  Path dir;

  /** One call of a listener. */
  record Event(Status status, long current, long total) {}

  @Test
  void copiesEveryByteAndReportsProgressInOrder() throws Exception {
    BlockRegistry reg = Images.registry();
    String src = Images.raw(reg, 9_000_000, 1);
    String dst = "memory:dst-" + UUID.randomUUID();
    List<Event> events = new ArrayList<>();
    try (BlockDevice s = reg.open(src, Images.RO)) {
      ConvertResult r = Convert.from(s).to(dst).format("raw").inFlight(3)
          .progress((st, c, t) -> events.add(new Event(st, c, t))).run(reg);
      assertEquals(9_000_000, r.bytes());
      assertEquals(List.of(), r.salvaged());
      assertArrayEquals(Images.read(s), Images.read(reg, dst));
    }
    assertEquals(new Event(Status.RUNNING, 0, 9_000_000), events.get(0));
    assertEquals(new Event(Status.CONCLUDED, 9_000_000, 9_000_000), events.get(events.size() - 1));
    for (int i = 1; i < events.size(); i++) {
      assertTrue(events.get(i).current() >= events.get(i - 1).current(), "progress went back");
    }
    assertTrue(events.subList(0, events.size() - 1).stream()
        .allMatch(e -> e.status() == Status.RUNNING), events.toString());
  }

  /** A cancel from the listener: the operation stops, reports ABORTED and removes the target. */
  @Test
  void aCancelledConvertRemovesItsTarget() throws Exception {
    BlockRegistry reg = Images.registry();
    String src = Images.raw(reg, 16 << 20, 2);
    Path file = dir.resolve("out.raw");
    String mem = "memory:cancel-" + UUID.randomUUID();
    for (String target : List.of(file.toString(), mem)) {
      Cancellation token = new Cancellation();
      List<Status> seen = new ArrayList<>();
      try (BlockDevice s = reg.open(src, Images.RO)) {
        Convert c = Convert.from(s).to(target).inFlight(1).cancellation(token)
            .progress((st, cur, total) -> {
              seen.add(st);
              if (cur > total / 3) {
                token.cancel();
              }
            });
        assertThrows(CancelledException.class, () -> c.run(reg));
      }
      assertEquals(Status.ABORTED, seen.get(seen.size() - 1), target);
      ImageAccessException gone = assertThrows(ImageAccessException.class,
          () -> reg.open(target, Images.RO));
      assertEquals(ImageAccessException.Reason.NOT_FOUND, gone.reason());
    }
    try (var left = Files.list(dir)) {
      assertEquals(List.of(), left.toList(), "the staged file stayed behind");
    }
  }

  /**
   * abandon() is for a caller that cannot wait (a JVM shutting down): it deletes the staged image
   * at once, from its own thread, while the convert is still stuck in a read.
   */
  @Test
  void abandonDeletesTheNewImageWhileTheConvertIsStuck() throws Exception {
    BlockRegistry reg = Images.registry();
    CountDownLatch reading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Cancellation token = new Cancellation();
    Path target = dir.resolve("stuck.raw");
    try (BlockDevice s = new StuckDevice(8 << 20, reading, release)) {
      CompletableFuture<Void> run = CompletableFuture.runAsync(() -> {
        try {
          Convert.from(s).to(target.toString()).inFlight(1).cancellation(token).run(reg);
        } catch (Exception e) {
          throw new java.util.concurrent.CompletionException(e);
        }
      });
      assertTrue(reading.await(30, TimeUnit.SECONDS), "the convert never read");
      try (var files = Files.list(dir)) {
        assertEquals(1, files.count(), "the staged image exists while the convert runs");
      }
      token.abandon();
      try (var files = Files.list(dir)) {
        assertEquals(0, files.count(), "abandon left the staged image");
      }
      release.countDown();
      var failure = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> run.get(30, TimeUnit.SECONDS));
      assertTrue(failure.getCause() instanceof CancelledException, failure.toString());
    }
    assertTrue(Files.notExists(target));
  }

  @Test
  void intoAnExistingImageThatIsTooSmallIsRefused() throws Exception {
    BlockRegistry reg = Images.registry();
    String src = Images.raw(reg, 1 << 20, 3);
    String small = Images.raw(reg, 4096, 4);
    byte[] before = Images.read(reg, small);
    try (BlockDevice s = reg.open(src, Images.RO); BlockDevice d = reg.open(small, Images.RW)) {
      BlockException e = assertThrows(BlockException.class,
          () -> Convert.from(s).into(d).run(reg));
      assertTrue(e.getMessage().contains("smaller"), e.getMessage());
      assertThrows(InvalidOptionException.class,
          () -> Convert.from(s).into(d).backing("x", "raw").run(reg));
    }
    assertArrayEquals(before, Images.read(reg, small));
  }

  @Test
  void settingsOutsideTheirRangeAreRefusedBeforeAnyWork() throws Exception {
    BlockRegistry reg = Images.registry();
    String src = Images.raw(reg, 4096, 5);
    String dst = "memory:never-" + UUID.randomUUID();
    try (BlockDevice s = reg.open(src, Images.RO)) {
      assertThrows(InvalidOptionException.class, () -> Convert.from(s).to(dst).sparseSize(1000)
          .run(reg));
      assertThrows(InvalidOptionException.class, () -> Convert.from(s).to(dst).inFlight(0)
          .run(reg));
      assertThrows(InvalidOptionException.class, () -> Convert.from(s).to(dst)
          .inFlight(Convert.MAX_IN_FLIGHT + 1).run(reg));
      assertThrows(IllegalStateException.class, () -> Convert.from(s).run(reg));
    }
    assertThrows(ImageAccessException.class, () -> reg.open(dst, Images.RO));
  }
}
