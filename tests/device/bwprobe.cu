/*
 * bwprobe.cu — the device's measured memory bandwidth, the ceiling decode
 * speed is judged against (DESIGN.md §7: "decode bandwidth as a percentage
 * of the measured device bandwidth"). A device-to-device cudaMemcpy of a
 * buffer far larger than the L2 (default 2 GiB), 3 warm-up copies, then 20
 * timed with CUDA events; bandwidth counts bytes read plus bytes written
 * (METHOD.md), median and best reported. The source is filled with
 * non-zero data first (zeros can run faster than real data).
 *
 * Usage: bwprobe [MiB]   Output: one human line, then one JSON line.
 * Exit 0, or 1 when a CUDA call fails (the error is printed).
 */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <cuda_runtime.h>

#define CHECK(call)                                                                                          \
	do {                                                                                                 \
		cudaError_t err_ = (call);                                                                   \
		if (err_ != cudaSuccess) {                                                                   \
			std::printf("ERROR: %s failed: %s\n", #call, cudaGetErrorString(err_));              \
			std::printf("{\"check\": \"bwprobe\", \"error\": \"%s\"}\n",                         \
			            cudaGetErrorString(err_));                                               \
			return 1;                                                                            \
		}                                                                                            \
	} while (0)

__global__ void fill(unsigned *p, size_t n)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x)
		p[i] = (unsigned)(i * 2654435761u) | 1u;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2048;
	size_t bytes = mib << 20;
	void *src = nullptr, *dst = nullptr;
	cudaEvent_t t0, t1;
	cudaDeviceProp prop;
	int dev = 0;
	std::vector<float> ms;

	CHECK(cudaGetDevice(&dev));
	CHECK(cudaGetDeviceProperties(&prop, dev));
	CHECK(cudaMalloc(&src, bytes));
	CHECK(cudaMalloc(&dst, bytes));
	fill<<<1024, 256>>>(static_cast<unsigned *>(src), bytes / sizeof(unsigned));
	CHECK(cudaGetLastError());
	CHECK(cudaEventCreate(&t0));
	CHECK(cudaEventCreate(&t1));
	for (int i = 0; i < 3; i++)
		CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
	CHECK(cudaDeviceSynchronize());
	for (int i = 0; i < 20; i++) {
		float t;
		CHECK(cudaEventRecord(t0));
		CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice));
		CHECK(cudaEventRecord(t1));
		CHECK(cudaEventSynchronize(t1));
		CHECK(cudaEventElapsedTime(&t, t0, t1));
		ms.push_back(t);
	}
	std::sort(ms.begin(), ms.end());
	double med = ms[ms.size() / 2], best = ms[0];
	double gbs_med = 2.0 * (double)bytes / (med * 1e-3) / 1e9,
	       gbs_best = 2.0 * (double)bytes / (best * 1e-3) / 1e9;
	std::printf("%s: device-to-device copy of %zu MiB: %.0f GB/s median, %.0f GB/s best (read + write)\n",
	            prop.name, mib, gbs_med, gbs_best);
	std::printf("{\"check\": \"bwprobe\", \"device\": \"%s\", \"mib\": %zu, \"gbs_median\": %.1f, "
	            "\"gbs_best\": %.1f, "
	            "\"ms_median\": %.4f}\n",
	            prop.name, mib, gbs_med, gbs_best, med);
	cudaFree(src);
	cudaFree(dst);
	return 0;
}
