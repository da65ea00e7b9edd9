/** Capture: video → PoseTrack on the CPU. See docs/capture.md. */
export { captureVideo, type CaptureOptions, type CaptureProgress, type CaptureSummary } from './capture.ts';
export { probeVideo, decodeFrames, findFfmpeg, outputSize, type VideoInfo, type Frame, type DecodeOptions, type DecodeStats } from './video.ts';
export { loadGraphModel, initBackend, modelsDir, modelFile, wasmSimd, fileHandler, BACKENDS, type BackendName } from './models.ts';
export { DEFAULT_FILTER, type FilterSettings } from './assemble.ts';
export { oneEuroInPlace, type OneEuroParams } from './filter.ts';
export { cropRoi, letterboxRoi, type Roi } from './roi.ts';
export { loadRunner, onnxModel, onnxCacheDir, readTfjsModel, type ModelRunner, type RunnerOptions } from './runner.ts';
export { convertTfjsModel, type ConvertOptions, type ConvertedModel, type TfjsModel } from './onnx/convert.ts';
