# Third-party packages. Each missing one stops the configure step with the Debian package
# that provides it (scripts/setup installs them all).
function(llmcpp_require found what debian)
  if(NOT ${found})
    message(FATAL_ERROR "llmcpp needs ${what}: install it with `apt-get install ${debian}` "
                        "(or run scripts/setup, which installs every dependency).")
  endif()
endfunction()

find_package(Threads REQUIRED)
find_package(nlohmann_json 3 QUIET)
llmcpp_require(nlohmann_json_FOUND "nlohmann_json" nlohmann-json3-dev)
find_package(OpenMP QUIET COMPONENTS CXX)
llmcpp_require(OpenMP_CXX_FOUND "OpenMP" "libomp-dev (clang) or g++ (libgomp)")
find_package(PkgConfig QUIET)
llmcpp_require(PkgConfig_FOUND "pkg-config" pkg-config)
pkg_check_modules(HTTPLIB QUIET IMPORTED_TARGET cpp-httplib)
llmcpp_require(HTTPLIB_FOUND "cpp-httplib" libcpp-httplib-dev)
if(LLMCPP_BUILD_TESTS)
  find_package(GTest QUIET)
  llmcpp_require(GTest_FOUND "GoogleTest" libgtest-dev)
endif()
if(LLMCPP_BUILD_BENCH)
  find_package(benchmark QUIET)
  llmcpp_require(benchmark_FOUND "Google Benchmark" libbenchmark-dev)
endif()

# Optional: chapter 11 builds its MPI communicator only when MPI is present.
if(LLMCPP_MPI)
  find_package(MPI QUIET COMPONENTS CXX)
  if(NOT MPI_CXX_FOUND)
    message(STATUS "MPI not found (apt-get install libopenmpi-dev): chapter 11 builds without MPI")
  endif()
endif()

# Optional: chapter 9 builds CUDA code only with a CUDA compiler.
set(LLMCPP_HAVE_CUDA OFF)
if(NOT LLMCPP_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    find_package(CUDAToolkit QUIET)
    if(CUDAToolkit_FOUND)
      set(LLMCPP_HAVE_CUDA ON)
      # Hopper (sm_90) machine code plus its PTX, which newer GPUs compile when they load it.
      if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
        set(CMAKE_CUDA_ARCHITECTURES 90)
      endif()
      enable_language(CUDA)
      # CMake 3.25 predates nvcc's C++20 (CUDA 12 and later): tell it the flag, so the
      # chapters' cxx_std_20 applies to .cu files too.
      if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
        set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
        set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
        set(CMAKE_CUDA20_COMPILE_FEATURES cuda_std_20)
        list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
      endif()
    endif()
  endif()
  if(LLMCPP_CUDA STREQUAL "ON" AND NOT LLMCPP_HAVE_CUDA)
    message(FATAL_ERROR "LLMCPP_CUDA=ON but no CUDA toolkit was found (nvcc under /usr/local/cuda/bin)")
  endif()
endif()

# Sanitizers apply to everything built in this tree, project code and tests alike.
if(LLMCPP_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(LLMCPP_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
# libFuzzer (chapter 10's fuzz targets): every library is instrumented for coverage and built
# with ASan+UBSan; only the fuzz programs link libFuzzer's main.
if(LLMCPP_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "LLMCPP_FUZZ needs clang: use `cmake --preset fuzz`")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
