/** Human motion: the PoseTrack type, importers, resampling, summaries and the built-in motion. */
export * from './track.ts';
export * from './skeleton.ts';
export { importPose, detectFormat, POSE_FORMATS, type PoseFormat, type ImportOptions } from './import.ts';
export { importBvh, parseBvh, bvhPositions, hasSyntheticTPose, type BvhOptions, type BvhData } from './bvh.ts';
export { importTrc, parseTrc, type TrcOptions, type TrcData } from './trc.ts';
export {
  importMediapipeHandJson, importBlazePoseJson, importNpy, BLAZEPOSE_LANDMARKS, COCO17,
  type HandOptions, type BlazePoseOptions, type NpyOptions, type NpyLayout,
} from './landmarks.ts';
export { importDeepMimic, type DeepMimicOptions } from './deepmimic.ts';
export { resampleTrack, type ResampleOptions } from './resample.ts';
export { poseInfo, standingHeight, geometricHeight, legHeight, type PoseInfo, type HeightEstimate } from './info.ts';
export { builtinMotion, BUILTIN_MOTIONS, BUILTIN_BODY, type BuiltinMotionName, type BuiltinOptions } from './builtin.ts';
