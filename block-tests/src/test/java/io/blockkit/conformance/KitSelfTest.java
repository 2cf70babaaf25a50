package io.blockkit.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import io.blockkit.api.BlockDriver;
import io.blockkit.testkit.ChainConformanceTest;
import io.blockkit.testkit.FormatFixtureConformanceTest;
import io.blockkit.testkit.ImageFixture;
import io.blockkit.testkit.Storage;
import io.blockkit.verify.plugin.ToyFormatDriver;
import io.blockkit.verify.plugin.ToyFormatDriver.Flaw;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;

/**
 * The conformance kit can fail: deliberately broken builds of the toy format ({@link Flaw}) run
 * the kit's chain and fixture suites and fail the tests meant to catch each bug, with a message
 * that says what went wrong, while the sound builds pass the very same suites. (FuzzContractTest
 * does the same for the fuzz harness.)
 */
class KitSelfTest {
  private static final String RUN = "blockkit.kit.selfTest";

  /** The suites below run only inside this test, never on their own: they are meant to fail. */
  static final class OnlyInsideKitSelfTest implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
      return context.getConfigurationParameter(RUN).isPresent()
          ? ConditionEvaluationResult.enabled("run by KitSelfTest")
          : ConditionEvaluationResult.disabled("a deliberately broken driver: only KitSelfTest "
              + "runs it, expecting failures");
    }
  }

  /** The chain suite on memory, for a build of the toy format with a flaw. */
  @ExtendWith(OnlyInsideKitSelfTest.class)
  abstract static class Chains extends ChainConformanceTest {
    private final Flaw flaw;

    Chains(Flaw flaw) {
      this.flaw = flaw;
    }

    @Override
    protected BlockDriver driver() {
      return ToyFormatDriver.withFlaw(flaw, false);
    }

    @Override
    protected Storage newStorage() throws IOException {
      return Storage.memory(registry());
    }
  }

  static final class SoundChains extends Chains {
    SoundChains() {
      super(Flaw.NONE);
    }
  }

  static final class ChainsWithoutCopyOnWrite extends Chains {
    ChainsWithoutCopyOnWrite() {
      super(Flaw.NO_COPY_ON_WRITE);
    }
  }

  static final class ChainsWhereZeroesFallThrough extends Chains {
    ChainsWhereZeroesFallThrough() {
      super(Flaw.ZEROES_FALL_THROUGH);
    }
  }

  static final class ChainsWhereStatusClaimsData extends Chains {
    ChainsWhereStatusClaimsData() {
      super(Flaw.STATUS_CLAIMS_DATA);
    }
  }

  /** The fixture suite on memory and files, for a read-only build with a flaw. */
  @ExtendWith(OnlyInsideKitSelfTest.class)
  abstract static class Fixture extends FormatFixtureConformanceTest {
    private final Flaw flaw;

    Fixture(Flaw flaw) {
      this.flaw = flaw;
    }

    @Override
    protected BlockDriver driver() {
      return ToyFormatDriver.withFlaw(flaw, true);
    }

    @Override
    protected ImageFixture fixture() throws IOException {
      return ToyFixtureConformanceTest.overlayOfAShorterBase(random());
    }
  }

  static final class SoundFixture extends Fixture {
    SoundFixture() {
      super(Flaw.NONE);
    }
  }

  static final class FixtureMisreadAcrossClusters extends Fixture {
    FixtureMisreadAcrossClusters() {
      super(Flaw.MISREADS_ACROSS_CLUSTERS);
    }
  }

  static final class FixtureWhereStatusClaimsData extends Fixture {
    FixtureWhereStatusClaimsData() {
      super(Flaw.STATUS_CLAIMS_DATA);
    }
  }

  static final class FixtureDeclaringWrite extends Fixture {
    FixtureDeclaringWrite() {
      super(Flaw.DECLARES_WRITE);
    }
  }

  /** What one run of a suite did: the failed tests (method name to failure), the passed count. */
  private record Run(Map<String, Throwable> failed, long succeeded) {
    /** Asserts that {@code test} failed and that its message contains {@code says}. */
    void assertFailed(String test, String says) {
      assertTrue(failed.containsKey(test), test + " did not fail; failed: " + failed.keySet());
      String message = String.valueOf(failed.get(test).getMessage());
      assertTrue(message.contains(says), test + " failed for another reason: " + message);
    }
  }

  private static Run run(Class<?> suite) {
    EngineExecutionResults results = EngineTestKit.engine("junit-jupiter")
        .selectors(selectClass(suite))
        .configurationParameter(RUN, "true")
        .execute();
    Map<String, Throwable> failed = new LinkedHashMap<>();
    for (Event e : results.testEvents().failed().list()) {
      String method = e.getTestDescriptor().getSource()
          .filter(MethodSource.class::isInstance).map(s -> ((MethodSource) s).getMethodName())
          .orElse(e.getTestDescriptor().getDisplayName());
      Throwable why = e.getPayload(TestExecutionResult.class)
          .flatMap(TestExecutionResult::getThrowable).orElse(null);
      failed.putIfAbsent(method, why);
    }
    return new Run(failed, results.testEvents().succeeded().count());
  }

  @Test
  void theSoundBuildsPassEverySuiteTheBrokenOnesRun() {
    for (Class<?> suite : List.of(SoundChains.class, SoundFixture.class)) {
      Run r = run(suite);
      assertEquals(Map.of(), r.failed(), suite.getSimpleName());
      assertTrue(r.succeeded() >= 9, suite.getSimpleName() + " ran only " + r.succeeded());
    }
  }

  @Test
  void aWriteWithoutCopyOnWriteFailsTheCopyOnWriteTests() {
    Run r = run(ChainsWithoutCopyOnWrite.class);
    for (String test : List.of("partialWritesCopyTheRestOfTheClusterFromTheBacking",
        "pastAShorterBackingsEndReadsZeros", "concurrentPartialWritesIntoOneClusterAllLand")) {
      r.assertFailed(test, "first difference at image offset");
    }
    assertTrue(r.succeeded() > 0, "no chain test passed at all");
  }

  @Test
  void zeroesThatFallThroughToTheBackingFailTheGh850Test() {
    Run r = run(ChainsWhereZeroesFallThrough.class);
    r.assertFailed("zeroedAndDiscardedRangesNeverRevertToTheBacking", "after zeroing");
  }

  @Test
  void statusThatHidesTheBackingFailsTheDepthAndMapTests() {
    Run chains = run(ChainsWhereStatusClaimsData.class);
    chains.assertFailed("chainDepthsMatchAModel", "the model says depth");
    chains.assertFailed("unallocatedRangesReadTheBacking", "the model says depth 1");
    run(FixtureWhereStatusClaimsData.class).assertFailed(
        "blockStatusAgreesWithTheContentAndTheMap", "overlaps the fixture's");
  }

  @Test
  void readsThatAssumeContiguousClustersFailTheFixtureReads() {
    Run r = run(FixtureMisreadAcrossClusters.class);
    r.assertFailed("readsMatchTheExpectedBytes", "first difference at image offset");
    r.assertFailed("concurrentReadersSeeTheExpectedBytes", "first difference at image offset");
  }

  @Test
  void aReadOnlyDriverThatDeclaresWriteFailsTheFeatureTest() {
    Run r = run(FixtureDeclaringWrite.class);
    r.assertFailed("readWriteOpenFollowsTheDeclaredFeatures", "gave a read-only device");
    assertEquals(Set.of("readWriteOpenFollowsTheDeclaredFeatures"), r.failed().keySet());
  }
}
