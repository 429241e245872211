// Runs once after the test files (tap's `after`): removes the consumer project.
import { rmSync } from 'node:fs'
import { projectDir } from '../lib/project.js'

rmSync(projectDir, { recursive: true, force: true })
