// Kernels of the transformer's GPU path (built to PTX by build.rs with the `cuda` feature only).
// One thread per element; n fits in 32 bits (parameter tensors and activations of small models).

// AdamW's moments for one parameter tensor of n entries: mv holds m (entries 0..n) then v (n..2n).
extern "C" __global__ void adam_moments_f32(float* mv, const float* g, unsigned int n, float b1,
                                            float b2) {
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float gi = g[i];
    mv[i] = b1 * mv[i] + (1.0f - b1) * gi;
    mv[n + i] = b2 * mv[n + i] + (1.0f - b2) * gi * gi;
}

// AdamW's update of the parameters from the moments, as src/train/optim.rs writes it:
// p <- p * decay - step_size * m / (sqrt(v) * inv_bias2_sqrt + eps).
extern "C" __global__ void adam_param_f32(float* p, const float* mv, unsigned int n, float decay,
                                          float step_size, float inv_bias2_sqrt, float eps) {
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float denom = sqrtf(mv[n + i]) * inv_bias2_sqrt + eps;
    p[i] = p[i] * decay - step_size * mv[i] / denom;
}

// Inverted-dropout mask: entry i is kept (value `kept`) when 16 bits of a hash of (seed, i) lie below
// `threshold`. The hash is SplitMix64's finaliser of seed + (i + 1) * golden ratio: a counter-based
// generator, so the mask depends only on the seed and the index, whatever the launch shape.
extern "C" __global__ void dropout_mask_f32(float* out, unsigned int n, unsigned long long seed,
                                            unsigned int threshold, float kept) {
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned long long z = seed + ((unsigned long long)i + 1ull) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    out[i] = ((unsigned int)(z & 0xffffull) < threshold) ? kept : 0.0f;
}
