"""ament_python package trirl_ros: builds with colcon on a ROS 2 install, or pip install -e ."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "trirl_ros"


def tree(folder):
    """data_files entries installing `folder` (recursively) under share/trirl_ros/."""
    entries = {}
    for path in glob(f"{folder}/**/*", recursive=True):
        if not path.endswith("/") and "." in path.rsplit("/", 1)[-1]:
            entries.setdefault(f"share/{PACKAGE}/{path.rsplit('/', 1)[0]}", []).append(path)
    return sorted(entries.items())


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        *tree("launch"),
        *tree("config"),
        *tree("models"),
    ],
    package_data={PACKAGE: ["assets/**/*"]},
    include_package_data=True,
    python_requires=">=3.10",
    # torch is pinned by `make setup` (torch==2.13.0, CPU wheel) before this is installed.
    install_requires=[
        "numpy",
        "pyyaml",
        "mujoco>=3.2",
        "torch>=2.3",
        "onnx",
        "onnxscript",
        "onnxruntime",
        "rosbags>=0.10",
        "matplotlib",
        "tqdm",
        "tensorboard",
        "imageio[ffmpeg]",  # trirl rollout --video: mp4 writing (bundled ffmpeg binary)
    ],
    # warp: the MuJoCo Warp env backend (env.backend: warp; tested against CPU MuJoCo on warp's CPU device)
    extras_require={"test": ["pytest", "mujoco-warp==4.0.0", "warp-lang==1.19.0"],
                    "warp": ["mujoco-warp==4.0.0", "warp-lang==1.19.0"]},
    zip_safe=True,
    maintainer="trirl_ros maintainers",
    maintainer_email="trirl_ros@users.noreply.github.com",
    description="Trust Region Inverse RL for Unitree G1/Go2: mocap ingest, training and deployment",
    license="BSD-3-Clause",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "trirl = trirl_ros.cli:main",
            "mocap_recorder = trirl_ros.ros.recorder:main",
            "bag_replayer = trirl_ros.ros.replayer:main",
            "trainer_node = trirl_ros.ros.trainer_node:main",
            "policy_deploy_node = trirl_ros.ros.deploy_node:main",
            "sim_robot = trirl_ros.ros.sim_robot:main",
            "joint_state_talker = trirl_ros.ros.joint_state_talker:main",
        ],
    },
)
