export { default } from '../../tsup.service.js'
