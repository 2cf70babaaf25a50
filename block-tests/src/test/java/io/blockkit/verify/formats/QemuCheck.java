package io.blockkit.verify.formats;

import io.blockkit.verify.Qemu;

/**
 * How qemu-img, the reference, judges images of a format that a crash left: the power-loss suite
 * runs {@code qemu-img check -f FORMAT} on a sample of crash images before our repair (each must be
 * acceptable to {@link #crashImageProblem}) and after it (each must exit 0).
 */
public interface QemuCheck {
  /** The {@code -f} argument. */
  String format();

  /** Whether qemu-img opens images of {@code v} at all (QEMU may support fewer variants). */
  default boolean reads(Variant v) {
    return true;
  }

  /**
   * Why qemu-img check's verdict on a crash image, before repair, is not acceptable; null when it
   * is. Default: exit 0 (clean) or 3 (leaks only).
   */
  default String crashImageProblem(Qemu.Result r) {
    return r.exitCode() == 0 || r.exitCode() == 3 ? null
        : "qemu-img check exited " + r.exitCode() + ":\n" + r.stdout() + r.stderr();
  }

  /** The default judgement: a crash may leak clusters, nothing else. */
  static QemuCheck leaksOnly(String format) {
    return () -> format;
  }
}
