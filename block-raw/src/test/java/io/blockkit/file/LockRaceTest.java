package io.blockkit.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.ImageLockedException;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Two processes opening one file at the same moment: one stops in the gap between the steps of
 * its lock protocol ({@link OpenFiles#lockGap}) while the other opens completely, every
 * combination of read-write, read-only and create, each side pausing in turn. Unless both only
 * read, exactly one may win: two winners are two writers in one image (or a create truncating an
 * image that is being written).
 */
class LockRaceTest {
  private static Process child;
  private static BlockingQueue<String> childLines;

  private final FileDriver driver = new FileDriver();
  private final List<BlockDevice> held = new ArrayList<>();
  @TempDir Path dir;

  @BeforeAll
  static void startChild() throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        LockRaceChild.class.getName()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    childLines = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> {
      try (var in = child.inputReader(StandardCharsets.UTF_8)) {
        String l;
        while ((l = in.readLine()) != null) {
          childLines.add(l);
        }
      } catch (IOException e) {
        childLines.add("error: " + e);
      }
    }, "lock-race-child-reader");
    reader.setDaemon(true);
    reader.start();
  }

  @AfterAll
  static void stopChild() throws InterruptedException {
    child.destroy();
    child.waitFor(30, TimeUnit.SECONDS);
  }

  @AfterEach
  void release() throws Exception {
    OpenFiles.lockGap = null;
    for (BlockDevice d : held) {
      d.close();
    }
    assertEquals("closed", ask("close"));
  }

  private static void tell(String line) {
    try {
      OutputStream out = child.getOutputStream();
      out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String answer() {
    try {
      String l = childLines.poll(60, TimeUnit.SECONDS);
      assertNotNull(l, "the child process did not answer");
      return l;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static String ask(String line) {
    tell(line);
    return answer();
  }

  /** This process's attempt: won or locked. */
  private String attempt(String op, Path p) throws IOException {
    try {
      if (op.equals("create")) {
        driver.create(new CreateRequest(p.toString(), null,
            Options.parse("size=64k", driver.createOptions())));
      } else {
        held.add(driver.open(OpenRequest.of(p.toString(), null, op.equals("ro"))));
      }
      return "won";
    } catch (ImageLockedException e) {
      return "locked";
    }
  }

  static Stream<Arguments> pairs() {
    List<Arguments> all = new ArrayList<>();
    for (String a : List.of("rw", "ro", "create")) {
      for (String b : List.of("rw", "ro", "create")) {
        all.add(Arguments.of(a, b));
      }
    }
    return all.stream();
  }

  private Path image() throws IOException {
    Path p = dir.resolve("race.img");
    driver.create(new CreateRequest(p.toString(), null,
        Options.parse("size=64k", driver.createOptions())));
    return p;
  }

  private static void assertOutcome(String childOp, String parentOp, String c, String p) {
    String what = "child " + childOp + ": " + c + ", this process " + parentOp + ": " + p;
    assertTrue(List.of("won", "locked").contains(c) && List.of("won", "locked").contains(p), what);
    if (childOp.equals("ro") && parentOp.equals("ro")) {
      assertEquals(List.of("won", "won"), List.of(c, p), "readers share: " + what);
    } else {
      assertEquals(1, (c.equals("won") ? 1 : 0) + (p.equals("won") ? 1 : 0),
          "exactly one of two conflicting openers wins: " + what);
    }
  }

  @ParameterizedTest(name = "child {0} paused in the gap, this process {1}")
  @MethodSource("pairs")
  void otherProcessPausedInTheGap(String childOp, String parentOp) throws IOException {
    Path p = image();
    assertEquals("ok", ask("pause on"));
    assertEquals("gap", ask(childOp + " " + p));
    String mine = attempt(parentOp, p);
    String theirs = ask("continue");
    assertEquals("ok", ask("pause off"));
    assertOutcome(childOp, parentOp, theirs, mine);
  }

  @ParameterizedTest(name = "this process {1} paused in the gap, child {0}")
  @MethodSource("pairs")
  void thisProcessPausedInTheGap(String childOp, String parentOp) throws IOException {
    Path p = image();
    String[] theirs = new String[1];
    OpenFiles.lockGap = () -> theirs[0] = ask(childOp + " " + p);
    String mine = attempt(parentOp, p);
    OpenFiles.lockGap = null;
    assertOutcome(childOp, parentOp, theirs[0], mine);
  }
}
