package io.blockkit.api;

import java.util.ArrayList;
import java.util.List;

/**
 * The result of {@link BlockDevice#check}, shaped like qemu-img's {@code ImageCheck}.
 *
 * @param corruptions inconsistencies that may lose data (remaining after any repair)
 * @param leaks space allocated but not referenced (remaining after any repair)
 * @param checkErrors internal errors that kept the check from completing
 * @param corruptionsFixed corruptions repaired in this call
 * @param leaksFixed leaks repaired in this call
 * @param imageEndOffset the offset where the image's used space ends, or -1 when unknown
 * @param totalClusters clusters (blocks) in the virtual disk, or -1
 * @param allocatedClusters clusters with data stored, or -1
 * @param fragmentedClusters allocated clusters not following their predecessor, or -1
 * @param compressedClusters allocated clusters stored compressed, or -1 (formats without
 *     compression)
 * @param messages one line per finding, naming the structure and index
 */
public record CheckReport(long corruptions, long leaks, long checkErrors, long corruptionsFixed,
    long leaksFixed, long imageEndOffset, long totalClusters, long allocatedClusters,
    long fragmentedClusters, long compressedClusters, List<String> messages) {

  public CheckReport {
    messages = List.copyOf(messages);
  }

  /** A report from a format without compression: {@code compressedClusters} is -1. */
  public CheckReport(long corruptions, long leaks, long checkErrors, long corruptionsFixed,
      long leaksFixed, long imageEndOffset, long totalClusters, long allocatedClusters,
      long fragmentedClusters, List<String> messages) {
    this(corruptions, leaks, checkErrors, corruptionsFixed, leaksFixed, imageEndOffset,
        totalClusters, allocatedClusters, fragmentedClusters, -1, messages);
  }

  /** A clean report with nothing known beyond "no errors". */
  public static CheckReport clean() {
    return new CheckReport(0, 0, 0, 0, 0, -1, -1, -1, -1, List.of());
  }

  public boolean isClean() {
    return corruptions == 0 && leaks == 0 && checkErrors == 0;
  }

  /** Accumulates findings. */
  public static final class Builder {
    private long corruptions;
    private long leaks;
    private long checkErrors;
    private long corruptionsFixed;
    private long leaksFixed;
    private long imageEndOffset = -1;
    private long totalClusters = -1;
    private long allocatedClusters = -1;
    private long fragmentedClusters = -1;
    private long compressedClusters = -1;
    private final List<String> messages = new ArrayList<>();

    public Builder corruption(String message) {
      corruptions++;
      messages.add("ERROR: " + message);
      return this;
    }

    /** Counts {@code count} corruptions under one message (a summary of many alike). */
    public Builder corruptions(long count, String message) {
      corruptions += count;
      messages.add("ERROR: " + message);
      return this;
    }

    public Builder leak(String message) {
      leaks++;
      messages.add("Leaked: " + message);
      return this;
    }

    public Builder leaks(long count, String message) {
      leaks += count;
      messages.add("Leaked: " + message);
      return this;
    }

    public Builder checkError(String message) {
      checkErrors++;
      messages.add("Check error: " + message);
      return this;
    }

    public Builder info(String message) {
      messages.add(message);
      return this;
    }

    public Builder corruptionsFixed(long n) {
      corruptionsFixed = n;
      return this;
    }

    public Builder leaksFixed(long n) {
      leaksFixed = n;
      return this;
    }

    public Builder imageEndOffset(long v) {
      imageEndOffset = v;
      return this;
    }

    public Builder clusters(long total, long allocated, long fragmented) {
      totalClusters = total;
      allocatedClusters = allocated;
      fragmentedClusters = fragmented;
      return this;
    }

    public Builder compressedClusters(long n) {
      compressedClusters = n;
      return this;
    }

    public long corruptions() {
      return corruptions;
    }

    public long leaks() {
      return leaks;
    }

    public CheckReport build() {
      return new CheckReport(corruptions, leaks, checkErrors, corruptionsFixed, leaksFixed,
          imageEndOffset, totalClusters, allocatedClusters, fragmentedClusters, compressedClusters,
          messages);
    }
  }
}
