/**
 * Depth networks `npm run models -- fetch <name>` knows: where each comes from, what it is (its
 * family's spec, written beside it as a sidecar) and its licence. A sha256 is pinned only where this
 * project has checked the file; for the others the first download's checksum is printed and recorded
 * in the cache (checksums.json), and every later fetch of the same name must match it.
 *
 * Which to use: on a CPU, `depth-anything-v2-small` at a low input height (DEPTH_INPUT_HEIGHT=196 or
 * less) or `midas-v2.1-small`; on a GPU, `depth-anything-v2-small` at 392–518.
 */
export interface CatalogueEntry {
  url: string;
  /** The spec family (gpu-pool/model-spec.ts) written into the sidecar. */
  family: string;
  licence: string;
  /** Pinned only where verified by this project. */
  sha256?: string;
  about: string;
}

export const CATALOGUE: Record<string, CatalogueEntry> = {
  'depth-anything-v2-small': {
    url: 'https://huggingface.co/onnx-community/depth-anything-v2-small/resolve/main/onnx/model.onnx',
    family: 'depth-anything-v2',
    licence: 'Apache-2.0',
    about: 'Depth-Anything-V2-Small (24.8 M parameters), relative inverse depth; what iw3 and Desktop2Stereo run',
  },
  'midas-v2.1-small': {
    url: 'https://github.com/isl-org/MiDaS/releases/download/v2_1/model-small.onnx',
    family: 'midas-v2.1-small',
    licence: 'MIT',
    about: 'MiDaS v2.1 small, 256×256, relative inverse depth; light enough for a CPU',
  },
};
